// axe-core on the whole document: the violations, each node as "selector: summary".
// Making the selectors costs a quarter of the run: only when they are asked for.
// page.evaluate waits for a Promise without any time limit, so the run races a 120 s timer:
// a run that never finishes fails the test with this message instead of hanging the session.
async (selectors) => {
    const timeout = new Promise((_, reject) => setTimeout(
        () => reject(new Error("axe-core did not finish within 120 s")), 120_000));
    const result = await Promise.race([
        axe.run(document, { resultTypes: ["violations"], selectors }), timeout]);
    return result.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.map((n) => (selectors ? n.target.join(" ") + ": " : "") +
                                  (n.failureSummary || "").replace(/\s+/g, " ")),
    }));
}
