// rrweb 2.x event type numbers (mirrors @rrweb/types; kept here so the hot path has no imports).

export const EventType = { FullSnapshot: 2, IncrementalSnapshot: 3, Meta: 4, Custom: 5 };

export const Source = {
  Mutation: 0,
  MouseMove: 1,
  MouseInteraction: 2,
  Scroll: 3,
  ViewportResize: 4,
  Input: 5,
  TouchMove: 6,
  StyleSheetRule: 8,
  CanvasMutation: 9,
  Selection: 14,
  AdoptedStyleSheet: 15,
};

export const MouseInteractions = {
  MouseUp: 0,
  MouseDown: 1,
  Click: 2,
  ContextMenu: 3,
  DblClick: 4,
  Focus: 5,
  Blur: 6,
  TouchStart: 7,
  TouchEnd: 9,
  TouchCancel: 10,
};

// sessiontape kind for each incremental source (agent/kinds.py).
export const KIND_BY_SOURCE = {
  0: 'rrweb.mutation',
  1: 'rrweb.mouse_move',
  2: 'rrweb.mouse_interaction',
  3: 'rrweb.scroll',
  4: 'rrweb.viewport_resize',
  5: 'rrweb.input',
  6: 'rrweb.mouse_move',
  8: 'rrweb.style_sheet_rule',
  9: 'rrweb.canvas',
  13: 'rrweb.style_declaration',
  14: 'rrweb.selection',
  15: 'rrweb.adopted_style_sheet',
};
