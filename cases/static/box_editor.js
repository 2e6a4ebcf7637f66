// The reviewer's box editor over the evidence frame. Boxes are kept in source-frame pixels, as the
// API takes them; each box remembers the filed detection it started from (`detection`), so the
// service can tell an untouched model box (machine) from a drawn or corrected one (human).
// Keyboard: e edit · Tab/Shift+Tab next/previous box · arrows move · Shift+arrows resize ·
// b add · Delete remove · t class · s save · Esc done. Mouse: drag a box, a corner, or empty space.
(function () {
  "use strict";
  const SVG_NS = "http://www.w3.org/2000/svg";
  const MIN_SIZE = 2;

  // Every word this script shows comes from the page's `page-messages` dictionary, translated on
  // the server from the review page's catalogue (cases/script_messages.py); a key it lacks shows
  // as the key itself, which the browser tests would see.
  const PAGE = (() => {
    const el = document.getElementById("page-messages");
    try { return JSON.parse(el.textContent); } catch (e) { return { messages: {}, classes: {}, errors: {} }; }
  })();

  // A refusal as the page words it: by the API error's `code`, else its HTTP status (0: no answer).
  // The API's own `detail` (English, with ids) is shown beside it as secondary text only.
  function errorText(status, body) {
    const errors = PAGE.errors || {};
    const code = body && typeof body.code === "string" ? body.code : "";
    return errors[code] || errors[`http_${status}`] || errors[status ? "server" : "unreachable"] || String(status);
  }

  function errorDetail(response, body) {
    if (body && body.detail !== undefined) return typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
    return `HTTP ${response.status} ${response.statusText}`.trim();
  }

  function t(key, params) {
    let text = PAGE.messages[key];
    if (text === undefined) return key;
    Object.entries(params || {}).forEach(([name, value]) => { text = text.split(`%(${name})s`).join(String(value)); });
    return text;
  }

  function tn(key, n, params) {
    return t(`${key}.${n === 1 ? "one" : "other"}`, Object.assign({ n: n }, params));
  }

  function classLabel(cls) { return PAGE.classes[cls] || cls; }

  function parse(el, name) {
    try { return JSON.parse(el.dataset[name]); } catch (e) { return null; }
  }

  function same(a, b) {
    return a.every((v, i) => Math.abs(v - b[i]) <= 0.75);
  }

  class Editor {
    constructor(root) {
      this.root = root;
      this.article = root.closest("article.case");
      this.svg = this.article.querySelector(".frame svg");
      this.caseId = root.dataset.caseId;
      this.frame = parse(root, "frame");
      this.detections = parse(root, "detections") || [];
      const reviewed = parse(root, "boxes");
      const start = reviewed || this.detections.map((d, k) => ({ class: d.class, box: d.box, detection: k }));
      this.boxes = start.map((b) => ({ cls: b.class, box: b.box.map(Number), detection: b.detection ?? null }));
      this.selected = this.boxes.length ? 0 : -1;
      this.active = false;
      this.dirty = false;
      this.drag = null;
      this.tools = root.querySelector(".editor-tools");
      this.keys = root.querySelector(".editor-keys");
      this.status = root.querySelector(".editor-status");
      this.classSelect = root.querySelector("select.box-class");
      root.querySelector(".edit-boxes").addEventListener("click", () => this.start());
      root.querySelector(".add-box").addEventListener("click", () => this.add());
      root.querySelector(".delete-box").addEventListener("click", () => this.remove());
      root.querySelector(".save-boxes").addEventListener("click", () => this.save());
      root.querySelector(".done-boxes").addEventListener("click", () => this.stop());
      this.newClass = "stall";  // a drawn box starts as the class the reviewer last chose
      this.classSelect.addEventListener("change", () => {
        this.newClass = this.classSelect.value;
        this.setClass(this.classSelect.value);
      });
      this.svg.addEventListener("pointerdown", (e) => this.pointerDown(e));
      this.svg.addEventListener("pointermove", (e) => this.pointerMove(e));
      this.svg.addEventListener("pointerup", () => this.pointerUp());
      // Unsaved edits go with whichever verdict form the reviewer submits.
      this.article.querySelectorAll("form").forEach((form) => form.addEventListener("submit", () => {
        if (!this.dirty) return;
        let field = form.querySelector("input[name=boxes]");
        if (!field) {
          field = document.createElement("input");
          field.type = "hidden";
          field.name = "boxes";
          form.appendChild(field);
        }
        field.value = JSON.stringify(this.payload());
      }));
      this.render();
    }

    payload() {
      return { boxes: this.boxes.map((b) => ({ class: b.cls, box: b.box.map((v) => Math.round(v * 10) / 10), detection: b.detection })) };
    }

    origin(b) {
      const d = b.detection === null ? null : this.detections[b.detection];
      return d && d.class === b.cls && same(d.box, b.box) ? "machine" : "human";
    }

    start() {
      this.active = true;
      this.article.classList.add("editing");
      this.tools.hidden = false;
      this.keys.hidden = false;
      if (this.selected < 0 && this.boxes.length) this.selected = 0;
      this.say(t("editing"));
      this.render();
    }

    stop() {
      this.active = false;
      this.article.classList.remove("editing");
      this.tools.hidden = true;
      this.keys.hidden = true;
      this.say(this.dirty ? t("unsaved") : "");
      this.render();
    }

    say(text, detail) {
      this.status.textContent = text;
      if (!detail) return;
      const small = document.createElement("small");
      small.className = "error-detail";
      small.textContent = detail;
      this.status.append(small);
    }

    changed() { this.dirty = true; this.render(); }

    clamp(box) {
      const [w, h] = this.frame;
      let [x1, y1, x2, y2] = box;
      x1 = Math.max(0, Math.min(x1, w - MIN_SIZE));
      y1 = Math.max(0, Math.min(y1, h - MIN_SIZE));
      x2 = Math.max(x1 + MIN_SIZE, Math.min(x2, w));
      y2 = Math.max(y1 + MIN_SIZE, Math.min(y2, h));
      return [x1, y1, x2, y2];
    }

    add(box) {
      const [w, h] = this.frame;
      const cls = this.newClass;
      const b = box || [w * 0.4, h * 0.4, w * 0.6, h * 0.6];
      this.boxes.push({ cls: cls, box: this.clamp(b), detection: null });
      this.selected = this.boxes.length - 1;
      this.changed();
    }

    remove() {
      if (this.selected < 0) return;
      this.boxes.splice(this.selected, 1);
      this.selected = Math.min(this.selected, this.boxes.length - 1);
      this.changed();
    }

    setClass(cls) {
      if (this.selected < 0) return;
      this.boxes[this.selected].cls = cls;
      this.changed();
    }

    nudge(dx, dy, resize) {
      const b = this.boxes[this.selected];
      if (!b) return;
      const [x1, y1, x2, y2] = b.box;
      if (resize) {
        b.box = this.clamp([x1, y1, x2 + dx, y2 + dy]);
      } else {
        const [w, h] = this.frame;
        const mx = Math.max(-x1, Math.min(dx, w - x2));
        const my = Math.max(-y1, Math.min(dy, h - y2));
        b.box = [x1 + mx, y1 + my, x2 + mx, y2 + my];
      }
      this.changed();
    }

    async save() {
      this.say(t("saving"));
      let response;
      try {
        response = await fetch(`/api/v1/cases/${this.caseId}/boxes`, {
          method: "PUT",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(this.payload()),
        });
      } catch (e) {
        this.say(t("not_saved", { error: errorText(0, null) }), String(e));
        return;
      }
      let body = null;
      try { body = await response.json(); } catch (e) { body = null; }  // a proxy's HTML error page
      if (!response.ok || !body) {
        this.say(t("not_saved", { error: errorText(response.status, body) }), errorDetail(response, body));
        return;
      }
      this.boxes = body.reviewed_boxes.map((b) => ({ cls: b.class, box: b.box, detection: b.detection }));
      this.dirty = false;
      this.say(tn("saved", this.boxes.length));
      this.render();
    }

    onKey(event) {
      if (!this.active) return false;
      if (event.target.closest("select, input, textarea")) {
        if (event.key === "Escape") { event.target.blur(); return true; }
        return false;
      }
      const [w, h] = this.frame;
      const step = Math.max(1, Math.round(Math.max(w, h) / 100));
      const arrows = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
      if (arrows[event.key]) { this.nudge(...arrows[event.key], event.shiftKey); return true; }
      if (event.key === "Tab") {
        if (!this.boxes.length) return true;
        const n = this.boxes.length;
        this.selected = (this.selected + (event.shiftKey ? n - 1 : 1)) % n;
        this.render();
        return true;
      }
      const actions = {
        b: () => this.add(),
        Delete: () => this.remove(),
        Backspace: () => this.remove(),
        t: () => this.classSelect.focus(),
        s: () => this.save(),
        Escape: () => this.stop(),
      };
      const action = actions[event.key];
      if (!action) return true;  // while editing, the queue's shortcuts (a, r, ...) do not fire
      action();
      return true;
    }

    point(event) {
      const pt = this.svg.createSVGPoint();
      pt.x = event.clientX;
      pt.y = event.clientY;
      const p = pt.matrixTransform(this.svg.getScreenCTM().inverse());
      return [p.x, p.y];
    }

    pointerDown(event) {
      if (!this.active) return;
      event.preventDefault();
      const [x, y] = this.point(event);
      const index = event.target.dataset.index !== undefined ? Number(event.target.dataset.index) : -1;
      if (index >= 0) {
        this.selected = index;
        const corner = event.target.dataset.corner;
        this.drag = { mode: corner ? "resize" : "move", corner: corner, from: [x, y], box: this.boxes[index].box.slice() };
      } else {
        this.add([x, y, x + MIN_SIZE, y + MIN_SIZE]);
        this.drag = { mode: "draw", from: [x, y] };
      }
      this.svg.setPointerCapture(event.pointerId);
      this.render();
    }

    pointerMove(event) {
      if (!this.drag) return;
      const [x, y] = this.point(event);
      const b = this.boxes[this.selected];
      const d = this.drag;
      if (d.mode === "draw") {
        b.box = this.clamp([Math.min(d.from[0], x), Math.min(d.from[1], y), Math.max(d.from[0], x), Math.max(d.from[1], y)]);
      } else if (d.mode === "move") {
        const [x1, y1, x2, y2] = d.box;
        const [w, h] = this.frame;
        const dx = Math.max(-x1, Math.min(x - d.from[0], w - x2));
        const dy = Math.max(-y1, Math.min(y - d.from[1], h - y2));
        b.box = [x1 + dx, y1 + dy, x2 + dx, y2 + dy];
      } else {
        let [x1, y1, x2, y2] = d.box;
        if (d.corner.includes("w")) x1 = x; else x2 = x;
        if (d.corner.includes("n")) y1 = y; else y2 = y;
        b.box = this.clamp([Math.min(x1, x2), Math.min(y1, y2), Math.max(x1, x2), Math.max(y1, y2)]);
      }
      this.dirty = true;
      this.render();
    }

    pointerUp() {
      const d = this.drag;
      this.drag = null;
      const b = this.boxes[this.selected];
      if (d && d.mode === "draw" && b && (b.box[2] - b.box[0] < 4 || b.box[3] - b.box[1] < 4)) {
        this.remove();  // a click on empty space, not a drawn box
        return;
      }
      this.render();
    }

    render() {
      const svg = this.svg;
      while (svg.firstChild) svg.removeChild(svg.firstChild);
      const [w, h] = this.frame;
      const handle = Math.max(w, h) / 60;
      this.boxes.forEach((b, i) => {
        const [x1, y1, x2, y2] = b.box;
        const rect = document.createElementNS(SVG_NS, "rect");
        const attrs = { x: x1, y: y1, width: x2 - x1, height: y2 - y1 };
        Object.entries(attrs).forEach(([k, v]) => rect.setAttribute(k, v));
        const origin = this.origin(b);
        rect.setAttribute("class", `box ${origin}${i === this.selected && this.active ? " chosen" : ""}`);
        rect.dataset.index = String(i);
        rect.dataset.cls = b.cls;
        rect.dataset.origin = origin;
        const title = document.createElementNS(SVG_NS, "title");
        title.textContent = t("box_title", { cls: classLabel(b.cls), origin: t(origin) });
        rect.appendChild(title);
        svg.appendChild(rect);
        const label = document.createElementNS(SVG_NS, "text");
        label.setAttribute("x", x1);
        label.setAttribute("y", Math.max(y1, handle * 1.5));
        label.setAttribute("class", "label");
        label.textContent = classLabel(b.cls);
        svg.appendChild(label);
        if (this.active && i === this.selected) {
          [["nw", x1, y1], ["ne", x2, y1], ["sw", x1, y2], ["se", x2, y2]].forEach(([corner, cx, cy]) => {
            const hd = document.createElementNS(SVG_NS, "rect");
            hd.setAttribute("x", cx - handle / 2);
            hd.setAttribute("y", cy - handle / 2);
            hd.setAttribute("width", handle);
            hd.setAttribute("height", handle);
            hd.setAttribute("class", "handle");
            hd.dataset.index = String(i);
            hd.dataset.corner = corner;
            svg.appendChild(hd);
          });
        }
      });
      const chosen = this.boxes[this.selected];
      if (chosen) this.classSelect.value = chosen.cls;
    }
  }

  const editors = new Map();
  document.querySelectorAll(".box-editor").forEach((root) => {
    const editor = new Editor(root);
    editors.set(editor.article, editor);
  });

  // Capture phase: while a case is being edited its keys go to the editor, not the queue's shortcuts.
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const editing = Array.from(editors.values()).find((e) => e.active);
    if (editing) {
      if (editing.onKey(event)) { event.preventDefault(); event.stopImmediatePropagation(); }
      return;
    }
    if (event.key === "e" && !event.target.closest("input, select, textarea")) {
      const article = document.querySelector("article.case.selected");
      const editor = article && editors.get(article);
      if (editor) { event.preventDefault(); event.stopImmediatePropagation(); editor.start(); }
    }
  }, true);
})();
