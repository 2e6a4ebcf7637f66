// Keyboard shortcuts for the review pages. The forms work without this script.
(function () {
  "use strict";
  const cases = Array.from(document.querySelectorAll("article.case"));
  let current = 0;

  function select(index) {
    if (!cases.length) return;
    current = Math.max(0, Math.min(cases.length - 1, index));
    cases.forEach((el, i) => el.classList.toggle("selected", i === current));
    cases[current].scrollIntoView({ block: "nearest" });
    cases[current].focus({ preventScroll: true });
  }

  function submit(selector) {
    const form = cases[current] && cases[current].querySelector(selector);
    if (form) form.requestSubmit();
  }

  function focus(selector) {
    const field = cases[current] && cases[current].querySelector(selector);
    if (field) field.focus();
  }

  document.addEventListener("keydown", (event) => {
    const typing = event.target.closest("input, select, textarea");
    // In the reject form's reason list, 1-4 pick a reason and move on to the note.
    if (event.target.matches("form.reject select[name=reject_code]") && /^[1-9]$/.test(event.key)) {
      const option = event.target.options[Number(event.key)];
      if (option) {
        event.preventDefault();
        event.target.value = option.value;
        event.target.form.querySelector("input[name=reason]").focus();
      }
      return;
    }
    if (event.key === "Escape" && typing) { event.target.blur(); select(current); return; }
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "/") {
      const search = document.getElementById("search");
      if (search) { event.preventDefault(); search.focus(); }
      return;
    }
    if (!cases.length) return;
    const actions = {
      j: () => select(current + 1),
      k: () => select(current - 1),
      a: () => submit("form.accept"),
      r: () => focus("form.reject select[name=reject_code], form.return input[name=reason]"),
      c: () => focus("form.reclassify select"),
      d: () => submit("form.dispatch"),
      o: () => { const img = cases[current].querySelector(".frame img"); if (img) window.open(img.src, "_blank"); },
      Enter: () => { const link = cases[current].querySelector("a.open"); if (link) window.location.href = link.href; },
    };
    const action = actions[event.key];
    if (action) { event.preventDefault(); action(); }
  });

  cases.forEach((el, i) => el.addEventListener("click", () => select(i)));
  select(0);
})();
