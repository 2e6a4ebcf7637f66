// Keyboard shortcuts for the review queue. The forms work without this script.
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

  document.addEventListener("keydown", (event) => {
    const typing = event.target.closest("input, select, textarea");
    if (event.key === "Escape" && typing) { event.target.blur(); select(current); return; }
    if (typing || event.ctrlKey || event.metaKey || event.altKey || !cases.length) return;
    const actions = {
      j: () => select(current + 1),
      k: () => select(current - 1),
      a: () => submit("form.accept"),
      r: () => cases[current].querySelector("form.reject input[name=reason]").focus(),
      c: () => cases[current].querySelector("form.reclassify select").focus(),
      o: () => { const img = cases[current].querySelector(".frame img"); if (img) window.open(img.src, "_blank"); },
    };
    const action = actions[event.key];
    if (action) { event.preventDefault(); action(); }
  });

  cases.forEach((el, i) => el.addEventListener("click", () => select(i)));
  select(0);
})();
