// axe-core on the whole document: the violations, each node as "selector: summary".
// Making the selectors costs a quarter of the run: only when they are asked for.
async (selectors) => {
    const result = await axe.run(document, { resultTypes: ["violations"], selectors });
    return result.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.map((n) => (selectors ? n.target.join(" ") + ": " : "") +
                                  (n.failureSummary || "").replace(/\s+/g, " ")),
    }));
}
