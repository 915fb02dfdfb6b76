/// Renders each rule's page (`docs/rules/<id>.md`) and the index from the metadata in `Rule`,
/// so the docs cannot drift from the code: a test compares them with the files on disk.
public enum RuleDocs {
  public static func markdown(for rule: Rule) -> String {
    var out = "# \(rule.rawValue)\n\n"
    out += "\(rule.summary).\n\n"
    out += "| | |\n|---|---|\n"
    out += "| default | \(rule.enabledByDefault ? "on" : "off (enable in `.pgphase.yaml`)") |\n"
    out += "| severity | \(rule.defaultSeverity.rawValue) |\n"
    out += "| lock | \(rule.lock.map { "`\($0.rawValue)`" } ?? "none") |\n\n"
    out += "## Why\n\n\(rule.rationale)\n\n"
    out += "## Do this instead\n\n"
    if rule.isMeta {
      out += "\(rule.alternative)\n"
    } else {
      out += "```sql\n\(rule.alternative)\n```\n"
    }
    if !rule.isMeta {
      out += "\n## Silencing it\n\n"
      out += "For one statement: `-- pgphase:ignore \(rule.rawValue) <reason>` on the statement or the line before it. "
      out += "For a whole file: `-- pgphase:ignore-file \(rule.rawValue) <reason>`. "
      out += "Everywhere: `rules: {disable: [\(rule.rawValue)]}` in `.pgphase.yaml`.\n"
    }
    out +=
      "\n<!-- Generated from Sources/PGPhaseLint/Rule.swift by RuleDocs; edit the code, then run the tests with PGPHASE_RECORD=1. -->\n"
    return out
  }

  /// A table of every rule, for docs/rules/index.md.
  public static func index() -> String {
    var out = "# pgphase lint rules\n\n"
    out +=
      "Generated from the rule metadata; `pgphase lint --explain RULE` prints the same page. See README.md for the output formats.\n\n"
    out += "| rule | default | severity | lock | what it catches |\n|---|---|---|---|---|\n"
    for rule in Rule.allCases {
      out +=
        "| [\(rule.rawValue)](\(rule.rawValue).md) | \(rule.enabledByDefault ? "on" : "off") | \(rule.defaultSeverity.rawValue) | \(rule.lock?.rawValue ?? "") | \(rule.summary) |\n"
    }
    return out
  }
}
