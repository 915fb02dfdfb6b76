import PGPhaseLint
import PGPhaseModel
import PGPhaseSQL

/// The findings only a trace can show, derived from the measurements (pure: no database here).
enum TraceFindings {
  /// Static rules that already report a rewrite.
  static let rewriteRules: Set<Rule> = [
    .addColumnRewritingDefault, .addStoredGeneratedColumn, .columnTypeRewrite, .vacuumFull, .cluster,
    .requireConcurrentReindex, .requireConcurrentRefresh, .truncateCascade,
  ]

  static func derive(
    traces: [StatementTrace], transactions: [OpenTransaction.Finished], staticFindings: [Finding], options: LintOptions
  ) -> [Finding] {
    var findings: [Finding] = []
    func emit(_ rule: Rule, _ trace: StatementTrace, _ message: String, help: String? = nil, lock: LockMode? = nil) {
      guard options.enabledRules.contains(rule) else { return }
      findings.append(
        Finding(
          rule: rule, severity: rule.defaultSeverity, message: message, help: help ?? rule.alternative, location: trace.location,
          lock: lock ?? rule.lock))
    }
    let tableKinds: Set<String> = ["r", "p", "m"]

    // An ACCESS EXCLUSIVE lock held while later statements of the same transaction run.
    for transaction in transactions {
      for (position, index) in transaction.statements.enumerated() {
        let later = transaction.statements[(position + 1)...].map { traces[$0] }
        guard !later.isEmpty else { continue }
        let strong = traces[index].locks.filter { $0.mode == .accessExclusive && tableKinds.contains($0.kind) }
        guard !strong.isEmpty else { continue }
        let tables = strong.map(\.relation).joined(separator: ", ")
        let lines = later.map { String($0.location.line) }.joined(separator: ", ")
        let until =
          transaction.endLine.map { "COMMIT at line \($0)" } ?? "the end of the session (the transaction is never closed)"
        emit(
          .traceHeldAccessExclusive, traces[index],
          "measured: this statement took ACCESS EXCLUSIVE on \(tables), held while \(later.count) later statement\(later.count == 1 ? "" : "s") of the same transaction ran (line\(later.count == 1 ? "" : "s") \(lines)) until \(until); every query on \(tables) waits that long",
          help: "COMMIT;  -- right after this statement, so the strong lock is held only for it")
      }
    }

    for trace in traces where trace.error == nil {
      // Rewrites the static rules did not report.
      let flagged = staticFindings.contains { rewriteRules.contains($0.rule) && $0.location.line == trace.location.line }
      let isTruncate = trace.text.uppercased().hasPrefix("TRUNCATE")
      let rewritten = trace.rewrites.filter { tableKinds.contains($0.kind) || $0.kind == "i" }
      if !flagged, !isTruncate, !rewritten.isEmpty {
        let what = rewritten.map { "\($0.relation) (relfilenode \($0.before) → \($0.after))" }.joined(separator: ", ")
        emit(
          .traceUnflaggedRewrite, trace,
          "measured: this statement rewrote \(what), which no static rule reported; a rewrite holds ACCESS EXCLUSIVE for as long as copying the table takes"
        )
      }
      // Write-blocking locks on tables the statement does not name.
      let named = namedIdentifiers(in: trace.text)
      for lock in trace.locks where lock.mode.blocksWrites && tableKinds.contains(lock.kind) {
        let bare = lock.relation.split(separator: ".").last.map(String.init) ?? lock.relation
        guard !named.contains(bare.lowercased()) else { continue }
        emit(
          .traceLockOnUnnamedRelation, trace,
          "measured: this statement took \(lock.mode.rawValue) on \(lock.relation), which it does not name; writes to \(lock.relation) wait while it is held",
          lock: lock.mode)
      }
    }
    return findings
  }

  /// Every identifier and keyword of a statement, lower-cased, quotes removed.
  static func namedIdentifiers(in text: String) -> Set<String> {
    guard case .success(let tokens) = SQLScanner.tokens(text) else { return [] }
    let bytes = Array(text.utf8)
    var names: Set<String> = []
    for token in tokens where token.kind == .identifier || token.kind == .keyword {
      var word = String(decoding: bytes[token.range], as: UTF8.self)
      if word.hasPrefix("\""), word.hasSuffix("\""), word.count >= 2 {
        word = String(word.dropFirst().dropLast()).replacingOccurrences(of: "\"\"", with: "\"")
        names.insert(word.lowercased())
      } else {
        names.insert(word.lowercased())
      }
    }
    return names
  }
}
