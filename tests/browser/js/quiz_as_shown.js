// What each question of the page's quizzes shows, in one round trip: its id, its legend and
// number, each option's label (found as a reader's screen reader finds it: label[for=input.id]
// inside the question), and its feedback live region.
() => [...document.querySelectorAll("[data-question-id]")].map((box) => {
    const legend = box.querySelector("fieldset legend");
    return {
        id: box.dataset.questionId,
        legend: legend ? legend.innerText : null,
        number: legend?.querySelector(".mha-quiz-qnum")?.innerText ?? null,
        options: [...box.querySelectorAll("input[type=radio], input[type=checkbox]")].map(
            (input) => ({
                value: input.value,
                label: box.querySelector(`label[for="${CSS.escape(input.id)}"]`)?.innerText ?? null,
            })),
        feedback: [...box.querySelectorAll(".mha-quiz-feedback")].map((region) => ({
            live: region.getAttribute("aria-live"),
            text: region.innerText,
            state: region.getAttribute("data-state"),
        })),
    };
})
