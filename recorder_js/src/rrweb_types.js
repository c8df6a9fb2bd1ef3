// rrweb 2.x enum values (as @rrweb/types and rrweb-snapshot number them), named once so no
// module compares with bare numbers. Plain objects: nothing from rrweb runs at record time.

export const EventType = { FullSnapshot: 2, IncrementalSnapshot: 3, Meta: 4, Custom: 5 };

export const IncrementalSource = {
  Mutation: 0,
  MouseMove: 1,
  MouseInteraction: 2,
  Scroll: 3,
  ViewportResize: 4,
  Input: 5,
  TouchMove: 6,
  StyleSheetRule: 8,
  CanvasMutation: 9,
  StyleDeclaration: 13,
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

export const PointerTypes = { Mouse: 0, Pen: 1, Touch: 2 };

// rrweb's CanvasContext: which drawing API a canvas mutation replays through.
export const CanvasContext = { TwoD: 0 };

// rrweb-snapshot's NodeType: the kind of a serialized node (not the DOM's nodeType).
export const NodeType = { Document: 0, DocumentType: 1, Element: 2, Text: 3, CDATA: 4, Comment: 5 };

// The DOM's Node.nodeType values the recorder tests on live nodes. Plain constants: esbuild
// inlines them, so the mutation loops compare with literals.
export const ELEMENT_NODE = 1;
export const TEXT_NODE = 3;
export const DOCUMENT_NODE = 9;
export const DOCUMENT_FRAGMENT_NODE = 11;

// sessiontape kind for each incremental source (agent/kinds.py).
export const KIND_BY_SOURCE = {
  [IncrementalSource.Mutation]: 'rrweb.mutation',
  [IncrementalSource.MouseMove]: 'rrweb.mouse_move',
  [IncrementalSource.MouseInteraction]: 'rrweb.mouse_interaction',
  [IncrementalSource.Scroll]: 'rrweb.scroll',
  [IncrementalSource.ViewportResize]: 'rrweb.viewport_resize',
  [IncrementalSource.Input]: 'rrweb.input',
  [IncrementalSource.TouchMove]: 'rrweb.mouse_move',
  [IncrementalSource.StyleSheetRule]: 'rrweb.style_sheet_rule',
  [IncrementalSource.CanvasMutation]: 'rrweb.canvas',
  [IncrementalSource.StyleDeclaration]: 'rrweb.style_declaration',
  [IncrementalSource.Selection]: 'rrweb.selection',
  [IncrementalSource.AdoptedStyleSheet]: 'rrweb.adopted_style_sheet',
};
