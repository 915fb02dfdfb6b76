/// Renders each rule's page (`docs/rules/<id>.md`) and the index from the metadata in `Rule`,
/// so the docs cannot drift from the code: a test compares them with the files on disk.
public enum RuleDocs {
  public static func markdown(for rule: Rule) -> String {
    var out = "# \(rule.rawValue)\n\n"
    out += "\(rule.summary).\n\n"
    out += "| | |\n|---|---|\n"
    out += "| default | \(rule.enabledByDefault ? "on" : "off (enable in `.pgphase.yaml`)") |\n"
    out += "| severity | \(rule.defaultSeverity.rawValue) |\n"
    out += "| lock | \(rule.lock.map { "`\($0.rawValue)`" } ?? "none") |\n"
    let squawk = SquawkCompatibility.ruleMap.filter { $0.pgphase.contains(rule) }.map { "`\($0.squawk)`" }
    if !squawk.isEmpty { out += "| squawk | \(squawk.joined(separator: ", ")) |\n" }
    if rule.isTraceOnly { out += "| reported by | `pgphase lint --trace` only |\n" }
    out += "\n"
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

  /// docs/rules/squawk.md: how squawk's rules, ignore comments and config map to pgphase's.
  public static func squawk() -> String {
    var out = "# Moving from squawk\n\n"
    out += "pgphase reads squawk's ignore comments and config, so a project can switch in one step:\n\n"
    out +=
      "- `-- squawk-ignore rule[,rule]` silences the mapped pgphase rules for the next statement (or the one the comment is on), "
    out += "and `-- squawk-ignore-file [rule,...]` for the whole file (every rule when none is named). "
    out += "A squawk rule with no pgphase equivalent is reported as a warning. Unlike `pgphase:ignore`, a squawk ignore that "
    out += "suppresses nothing is not reported: pgphase may rightly not flag what squawk did.\n"
    out += "- Without a `.pgphase.yaml`, `pgphase lint` reads `.squawk.toml` (or `squawk.toml`): `excluded_rules` (mapped below) "
    out += "become disabled rules, `pg_version` the server version, `assume_in_transaction` `transactional_files`, "
    out += "and `excluded_paths` excluded paths.\n\n"
    out += "| squawk rule | pgphase rules |\n|---|---|\n"
    for (squawk, rules) in SquawkCompatibility.ruleMap {
      out += "| `\(squawk)` | \(rules.map { "[\($0.rawValue)](\($0.rawValue).md)" }.joined(separator: ", ")) |\n"
    }
    for (squawk, why) in SquawkCompatibility.unmapped.sorted(by: { $0.key < $1.key }) {
      out += "| `\(squawk)` | none: \(why) |\n"
    }
    out +=
      "\n<!-- Generated from Sources/PGPhaseLint/SquawkCompatibility.swift by RuleDocs; run the tests with PGPHASE_RECORD=1 after editing. -->\n"
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
