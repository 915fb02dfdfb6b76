import Foundation
import PGPhaseModel

extension FileTrace {
  /// One block per statement: where, how long, each lock and until when it is held, each rewrite.
  public func text() -> String {
    var out = ""
    for s in statements {
      let block = s.inTransactionBlock ? "" : ", ran alone (its locks end with it)"
      out += "\(s.location): \(s.text)  [\(String(format: "%.1f", s.milliseconds)) ms\(block)]\n"
      if let error = s.error {
        out += "    failed: \(error.split(separator: "\n").first ?? "")\n"
        continue
      }
      for lock in s.locks {
        let held =
          lock.heldUntilLine.map { $0 == s.location.line ? "until it ends" : "until line \($0)" } ?? "past the end of the file"
        out += "    lock \(lock.mode.rawValue) on \(lock.relation) (\(Self.kindName(lock.kind))), held \(held)\n"
      }
      for rewrite in s.rewrites {
        out +=
          "    rewrote \(rewrite.relation) (\(Self.kindName(rewrite.kind))): relfilenode \(rewrite.before) -> \(rewrite.after)\n"
      }
      if s.locks.isEmpty && s.rewrites.isEmpty { out += "    no lock on a table that existed before the file\n" }
    }
    return out
  }

  static func kindName(_ kind: String) -> String {
    switch kind {
    case "r": "table"
    case "p": "partitioned table"
    case "i", "I": "index"
    case "m": "materialized view"
    case "S": "sequence"
    case "v": "view"
    default: kind
    }
  }

  /// `{"file": ..., "statements": [...]}` for the JSON report.
  public func json() -> String {
    struct Out: Encodable {
      var file: String
      var statements: [StatementTrace]
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let data = (try? encoder.encode(Out(file: file, statements: statements))) ?? Data("{}".utf8)
    return String(decoding: data, as: UTF8.self)
  }
}
