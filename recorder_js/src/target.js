// What a user acted on, named at the moment of the action: role, accessible name, ids, a CSS
// path unique in the document, the enclosing form's name and the region (section, dialog,
// landmark) it sits in. Computed only for user actions (clicks, submits, field edits,
// shortcut keys), never for mutations, so its cost is a few DOM reads per action.
//
// A name is page-defined text (a label, aria-label, a button's text, title, placeholder,
// name attribute), never a field's value. Text and attributes go through the masker like
// the same text in a snapshot: a name under a masking rule is redacted or wrapped in a
// sentinel the agent turns into a token.

import { ELEMENT_NODE } from './rrweb_types.js';
import { masker } from './world.js';

const NAME_CAP = 120;
const INTERACTIVE = 'button, a[href], input, select, textarea, summary, label, option, '
  + '[role=button], [role=link], [role=checkbox], [role=radio], [role=tab], [role=menuitem], '
  + '[role=option], [role=switch], [role=combobox], [role=textbox]';
const REGION = 'section, article, aside, nav, main, header, footer, dialog, fieldset, '
  + '[role=dialog], [role=alertdialog], [role=region], [role=navigation], [role=main], '
  + '[role=complementary], [role=banner], [role=contentinfo], [role=search], [role=form]';
const HEADING = 'h1, h2, h3, h4, h5, h6, [role=heading]';
const NO_TEXT = { SCRIPT: 1, STYLE: 1, NOSCRIPT: 1, TEMPLATE: 1, INPUT: 1, TEXTAREA: 1,
  SELECT: 1, OPTION: 1 };
const BUTTON_INPUTS = { button: 1, submit: 1, reset: 1, image: 1 };
const TEXT_INPUTS = { text: 1, email: 1, tel: 1, url: 1, password: 1, number: 1, '': 1 };

function clean(s) {
  return String(s).replace(/\s+/g, ' ').trim();
}

// The visible text under root (not the text of controls inside it), each piece masked by
// the rule of the element that holds it; raw pieces are capped before masking so a sentinel
// is never cut in two.
function textOf(root, skip) {
  const out = [];
  let size = 0;
  const walk = (n) => {
    for (let c = n.firstChild; c && size < NAME_CAP; c = c.nextSibling) {
      if (c.nodeType === 3) {
        let t = clean(c.data);
        if (!t) continue;
        if (size + t.length > NAME_CAP) t = t.slice(0, NAME_CAP - size);
        size += t.length + 1;
        out.push(masker ? masker.textValue(n, t) : t);
      } else if (c.nodeType === ELEMENT_NODE && c !== skip && !NO_TEXT[c.tagName]) {
        if (c.tagName === 'IMG' && c.getAttribute('alt')) {
          out.push(attr(c, 'alt'));
        } else {
          walk(c);
        }
      }
    }
  };
  if (root.tagName === 'OPTION') out.push(masker ? masker.textValue(root, clean(root.text))
    : clean(root.text));
  else walk(root);
  return clean(out.join(' '));
}

function attr(el, name) {
  const v = el.getAttribute(name);
  if (!v || !clean(v)) return '';
  const c = clean(v).slice(0, NAME_CAP);
  return masker ? masker.attrValue(el, name, c) : c;
}

function labelledBy(el) {
  const ids = clean(el.getAttribute('aria-labelledby') || '');
  if (!ids) return '';
  const d = el.ownerDocument;
  return clean(ids.split(' ').map((i) => {
    const l = d.getElementById(i);
    return l ? textOf(l, null) : '';
  }).join(' '));
}

function isButtonLike(el, role) {
  return role === 'button' || role === 'link' || role === 'tab' || role === 'menuitem'
    || role === 'option' || role === 'checkbox' || role === 'radio' || role === 'switch'
    || el.tagName === 'SUMMARY' || el.tagName === 'LABEL' || el.tagName === 'LI';
}

function isField(el) {
  const t = el.tagName;
  return t === 'TEXTAREA' || t === 'SELECT'
    || (t === 'INPUT' && !BUTTON_INPUTS[String(el.type).toLowerCase()]);
}

// [accessible name, where it came from]: aria-labelledby, aria-label, <label>, own text
// (buttons, links), alt/value of image and button inputs, title, placeholder, name.
function accessibleName(el, role) {
  let n = labelledBy(el);
  if (n) return [n, 'aria-labelledby'];
  n = attr(el, 'aria-label');
  if (n) return [n, 'aria-label'];
  if (isField(el) && el.labels && el.labels.length) {
    n = clean(Array.prototype.map.call(el.labels, (l) => textOf(l, el)).join(' '));
    if (n) return [n, 'label'];
  }
  const type = String(el.type || '').toLowerCase();
  if (el.tagName === 'INPUT' && BUTTON_INPUTS[type]) {
    n = attr(el, type === 'image' ? 'alt' : 'value');
    if (n) return [n, 'value'];
  }
  if (!isField(el) && (isButtonLike(el, role) || el.tagName === 'BUTTON')) {
    n = textOf(el, null);
    if (n) return [n, 'text'];
  }
  for (const a of ['title', 'placeholder', 'name']) {
    n = attr(el, a);
    if (n) return [n, a];
  }
  if (!isField(el)) {
    n = textOf(el, null);
    if (n) return [n, 'text'];
  }
  return ['', ''];
}

function roleOf(el) {
  const r = el.getAttribute('role');
  if (r) return clean(r).split(' ')[0];
  const t = el.tagName;
  const type = String(el.type || '').toLowerCase();
  if (t === 'BUTTON' || (t === 'INPUT' && BUTTON_INPUTS[type])) return 'button';
  if (t === 'A' && el.hasAttribute('href')) return 'link';
  if (t === 'TEXTAREA') return 'textbox';
  if (t === 'SELECT') return el.multiple || el.size > 1 ? 'listbox' : 'combobox';
  if (t === 'INPUT') {
    if (type === 'checkbox' || type === 'radio') return type;
    if (type === 'search') return 'searchbox';
    if (type === 'range') return 'slider';
    if (TEXT_INPUTS[type]) return 'textbox';
    return '';
  }
  if (/^H[1-6]$/.test(t)) return 'heading';
  if (t === 'OPTION') return 'option';
  if (t === 'IMG') return 'img';
  if (t === 'LI') return 'listitem';
  if (t === 'SUMMARY') return 'button';
  return '';
}

// A CSS path unique in el's document: up to the nearest ancestor with an id, nth-of-type
// where siblings share the tag.
function cssPath(el) {
  const parts = [];
  let e = el;
  while (e && e.nodeType === ELEMENT_NODE) {
    const tag = e.tagName.toLowerCase();
    if (e.id && /^[A-Za-z][\w-]*$/.test(e.id)) {
      parts.unshift(tag + '#' + e.id);
      break;
    }
    const p = e.parentElement;
    let s = tag;
    if (p) {
      let i = 0;
      let n = 0;
      for (let c = p.firstElementChild; c; c = c.nextElementSibling) {
        if (c.tagName === e.tagName) {
          n += 1;
          if (c === e) i = n;
        }
      }
      if (n > 1) s += ':nth-of-type(' + i + ')';
    }
    parts.unshift(s);
    e = p;
  }
  return parts.join(' > ');
}

function headingIn(el) {
  const h = el.querySelector(HEADING);
  return h ? textOf(h, null) : '';
}

// A region's or form's own name: aria-labelledby, aria-label, its legend or first heading.
function containerName(el) {
  let n = labelledBy(el) || attr(el, 'aria-label');
  if (n) return n;
  if (el.tagName === 'FIELDSET' || el.tagName === 'FORM') {
    const lg = el.querySelector('legend');
    if (lg) n = textOf(lg, null);
  }
  return n || headingIn(el);
}

function regionOf(el) {
  for (let r = el.parentElement && el.parentElement.closest(REGION); r;
    r = r.parentElement && r.parentElement.closest(REGION)) {
    const n = containerName(r);
    if (n) return n;
  }
  return '';
}

// A form's name: its own (aria, legend, heading inside), else the region it sits in (the
// section whose heading names it), else its title, name attribute or id.
function formName(f) {
  return containerName(f) || regionOf(f) || attr(f, 'title') || attr(f, 'name') || f.id || '';
}

// The element a click on `t` acts on: the nearest interactive ancestor, else t itself.
export function actionable(t) {
  if (!t || t.nodeType !== ELEMENT_NODE) return t && t.parentElement;
  return t.closest(INTERACTIVE) || t;
}

// {role, name, name_from, tag, element_id, test_id, css, form, region} of el.
export function describe(el) {
  if (!el || el.nodeType !== ELEMENT_NODE) return null;
  try {
    const role = roleOf(el);
    const isForm = el.tagName === 'FORM';
    const form = isForm ? formName(el) : (el.form || el.closest('form'));
    const [name, from] = isForm ? [form, 'form'] : accessibleName(el, role);
    return {
      role,
      name,
      name_from: from,
      tag: el.tagName.toLowerCase(),
      element_id: el.id || '',
      test_id: el.getAttribute('data-testid') || el.getAttribute('data-test')
        || el.getAttribute('data-qa') || '',
      css: cssPath(el),
      form: isForm ? form : (form ? formName(form) : ''),
      region: regionOf(el),
    };
  } catch {
    return null; // a hostile DOM must not stop the event itself from being recorded
  }
}
