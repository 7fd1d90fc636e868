// Where the keyboard focus is, in quiz terms, and whether its focus ring is visible.
() => {
    const a = document.activeElement;
    const q = a && a.closest("[data-question-id]");
    const style = getComputedStyle(a);
    return {
        tag: a.tagName, type: a.type || null, value: a.value ?? null, checked: !!a.checked,
        text: a.textContent.trim(), question: q ? q.dataset.questionId : null,
        ring: a.matches(":focus-visible") && style.outlineStyle !== "none"
              && parseFloat(style.outlineWidth) >= 2,
    };
}
