// Masking in the page: the first line of defence (the agent's mask stage is the second).
//
// redact   -> the fixed marker "[redacted]" (same for every value: no length leak)
// tokenize / escrow -> the value wrapped in a sentinel the agent's mask stage replaces;
//            the HMAC / escrow keys never enter the renderer.
// Password inputs are always redacted, whatever the config says.
//
// A rule applies to the elements its selector matches (Element.matches, the same CSS the
// agent's pass evaluates). A masking rule also covers everything inside a matched element;
// a keep rule (mode "none") covers exactly the elements it matches, so an exemption such as
// "[contenteditable] *" never reaches past them.

import { closest, matches } from './world.js';

export const REDACTED = '[redacted]';
const CONTROL_ATTRS = ['value', 'placeholder', 'title', 'aria-label'];

export function sentinel(mode, ruleId, value) {
  return '\u0001stm:' + mode + ':' + ruleId + '\u0002' + value + '\u0003';
}

export function applyMode(rule, value) {
  if (rule === null || value === null || value === undefined || value === '') return value;
  if (rule.mode === 'redact') return REDACTED;
  if (rule.mode === 'tokenize' || rule.mode === 'escrow') {
    return sentinel(rule.mode, rule.id, String(value));
  }
  return value; // mode "none": pass through
}

const PASSWORD_RULE = { id: 'password', selector: 'input[type=password]', mode: 'redact' };

// `epochs` (optional): the match epoch of mutations.js, {check(), peek(), observed(el)}. With
// it, the rule found for an element whose tree our observer watches (observed) is kept until
// the epoch moves; check() takes the records not delivered yet first, peek() does not.
export function createMasker(maskCfg, onBadRule, epochs) {
  const cfg = maskCfg || {};
  const rules = [];
  for (const r of cfg.rules || []) {
    if (!r || typeof r.selector !== 'string') continue;
    try {
      document.createDocumentFragment().querySelector(r.selector);
      rules.push({ id: String(r.id || 'rule'), selector: r.selector, mode: r.mode || 'redact' });
    } catch {
      onBadRule(r);
    }
  }
  const defMode = cfg.defaultInputMode || 'none';
  const defaultRule = defMode === 'none' ? null : { id: 'default', selector: '*', mode: defMode };
  const anyRules = rules.length > 0;
  // Every masking rule's selector in one list: most elements match none of them, and one
  // closest() call says so (the browser walks the ancestors once, not once per rule).
  const masking = rules.filter((r) => r.mode !== 'none');
  const keeps = rules.filter((r) => r.mode === 'none');
  const anyMasking = masking.map((r) => r.selector).join(', ');

  const cache = new WeakMap(); // el -> [epoch, rule]

  // The rule that covers an element (rules come strongest first): a masking rule matching
  // it or an ancestor, else a keep rule matching the element itself; or null.
  function ruleFor(el) {
    if (!anyRules || !el || el.nodeType !== 1) return null;
    if (!epochs) return findRule(el);
    const c = cache.get(el);
    if (c !== undefined && c[0] === epochs.check()) return c[1];
    const e = epochs.peek();
    const r = findRule(el);
    if (epochs.observed(el)) cache.set(el, [e, r]);
    return r;
  }

  function findRule(el) {
    let candidates = rules;
    try {
      if (anyMasking === '' || closest(el, anyMasking) === null) candidates = keeps;
    } catch { /* each selector was validated: not reached */ }
    for (let i = 0; i < candidates.length; i++) {
      const r = candidates[i];
      try {
        if (r.mode === 'none' ? matches(el, r.selector) : closest(el, r.selector) !== null) {
          return r;
        }
      } catch { /* selector validated above */ }
    }
    return null;
  }

  function isPassword(el) {
    return el.tagName === 'INPUT' && String(el.type).toLowerCase() === 'password';
  }

  function isControl(el) {
    const t = el.tagName;
    return t === 'INPUT' || t === 'TEXTAREA' || t === 'SELECT';
  }

  // The rule for a form control's value (explicit rule > password > default), or null.
  function controlRule(el) {
    if (isPassword(el)) return PASSWORD_RULE;
    const r = ruleFor(el);
    if (r) return r;
    if (defaultRule && isControl(el)) return defaultRule;
    return null;
  }

  // Rule for an element's own attributes (placeholder/title/aria-label/value).
  function attrRule(el, name) {
    if (name === 'value') return isControl(el) || el.tagName === 'OPTION' ? controlRule(el) : ruleFor(el);
    if (isPassword(el)) return PASSWORD_RULE;
    return ruleFor(el);
  }

  return {
    anyRules,
    ruleFor,
    controlRule,
    isControl,
    textValue(parentEl, text) {
      return applyMode(ruleFor(parentEl), text);
    },
    controlValue(el, value) {
      return applyMode(controlRule(el), value);
    },
    attrValue(el, name, value) {
      if (CONTROL_ATTRS.indexOf(name) < 0) return value;
      return applyMode(attrRule(el, name), value);
    },
    // Patch a serialized element node in place (rrweb-snapshot's output, before it is sent).
    patchElement(el, sn) {
      const attrs = sn.attributes;
      for (let i = 0; i < CONTROL_ATTRS.length; i++) {
        const name = CONTROL_ATTRS[i];
        const v = attrs[name];
        if (typeof v === 'string' && v !== '') attrs[name] = this.attrValue(el, name, v);
      }
      if (el.tagName === 'OPTION') {
        // The live selection, unless the select's value is masked (the option would tell).
        const sel = closest(el, 'select');
        const rule = sel ? controlRule(sel) : null;
        if (el.selected && !(rule && rule.mode !== 'none')) attrs.selected = true;
        else delete attrs.selected;
      }
    },
    isPassword,
    CONTROL_ATTRS,
  };
}
