import PGPhaseModel
import PGPhaseSQL

/// Judgements about SQL expressions that the planner passes through as written. The facts live in
/// PGPhaseSQL (the one list of function volatility); parsing a string there is not I/O, so the
/// planner stays pure.
enum Expressions {
  /// Whether the expression may give a different value for each row. Unknown functions count
  /// as volatile: being wrong that way costs a batched backfill, the other way a table rewrite.
  static func isVolatile(_ expression: String) -> Bool {
    FunctionVolatility.isVolatile(expression: expression)
  }
}

/// Stable short hashes for generated names. FNV-1a: tiny, deterministic across platforms.
enum NameHash {
  static func hex(_ text: String, length: Int = 8) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 {
      hash ^= UInt64(byte)
      hash = hash &* 0x0000_0100_0000_01b3
    }
    let full = String(hash, radix: 16)
    let padded = String(repeating: "0", count: max(0, 16 - full.count)) + full
    return String(padded.prefix(length))
  }
}

enum Names {
  /// Fits a generated identifier into PostgreSQL's 63 bytes; a cut name gets a hash suffix so
  /// two long names never collide after truncation.
  static func fit(_ name: String) -> String {
    guard name.utf8.count > SQL.maxIdentifierBytes else { return name }
    let suffix = "_" + NameHash.hex(name)
    var cut = ""
    for c in name {
      if (cut + String(c)).utf8.count + suffix.utf8.count > SQL.maxIdentifierBytes { break }
      cut.append(c)
    }
    return cut + suffix
  }

  /// A readable, file-name-safe slug for step ids.
  static func slug(_ parts: [String]) -> String {
    let text = parts.joined(separator: "-").lowercased()
    var out = ""
    var lastDash = false
    for scalar in text.unicodeScalars {
      if ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) {
        out.unicodeScalars.append(scalar)
        lastDash = false
      } else if !lastDash && !out.isEmpty {
        out.append("-")
        lastDash = true
      }
    }
    while out.hasSuffix("-") { out.removeLast() }
    return String(out.prefix(60))
  }
}
