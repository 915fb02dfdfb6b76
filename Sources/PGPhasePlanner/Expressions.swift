import PGPhaseModel

/// Judgements about SQL expressions that the planner passes through as written.
enum Expressions {
  /// Functions whose result changes per row. A default calling one rewrites the whole table
  /// on ADD COLUMN, because PostgreSQL must compute a value for every existing row.
  static let knownVolatile: Set<String> = [
    "random", "gen_random_uuid", "uuid_generate_v1", "uuid_generate_v1mc", "uuid_generate_v4",
    "clock_timestamp", "timeofday", "nextval", "setseed", "txid_current", "pg_current_xact_id",
    "random_normal", "uuidv7", "uuidv4",
  ]

  /// Functions known not to be volatile (immutable or stable): PostgreSQL evaluates such a
  /// default once and stores it in the catalog, so ADD COLUMN stays catalog-only (PG 11+).
  static let knownStable: Set<String> = [
    "now", "transaction_timestamp", "statement_timestamp", "current_setting", "lower", "upper",
    "coalesce", "nullif", "concat", "length", "trim", "btrim", "ltrim", "rtrim", "replace", "substr",
    "substring", "to_jsonb", "to_json", "jsonb_build_object", "json_build_object", "jsonb_build_array",
    "json_build_array", "array_fill", "make_interval", "make_date", "make_timestamptz", "abs", "round",
    "greatest", "least", "md5", "encode", "decode", "date_trunc", "timezone", "format",
  ]

  /// Whether the expression may give a different value for each row. Unknown functions count
  /// as volatile: being wrong that way costs a batched backfill, the other way a table rewrite.
  static func isVolatile(_ expression: String) -> Bool {
    !functionCalls(in: expression).allSatisfy { knownStable.contains($0) && !knownVolatile.contains($0) }
  }

  /// Lower-cased names called in an expression, ignoring string literals, quoted identifiers and
  /// type modifiers after `::` (as in `numeric(10,2)`).
  static func functionCalls(in expression: String) -> [String] {
    var names: [String] = []
    let chars = Array(expression)
    var i = 0
    var previousWasCast = false
    while i < chars.count {
      let c = chars[i]
      if c == "'" {
        i += 1
        while i < chars.count {
          if chars[i] == "'" {
            if i + 1 < chars.count, chars[i + 1] == "'" {
              i += 2
              continue
            }
            break
          }
          i += 1
        }
        i += 1
        previousWasCast = false
        continue
      }
      if c == "\"" {
        i += 1
        while i < chars.count, chars[i] != "\"" { i += 1 }
        i += 1
        continue
      }
      if c == ":", i + 1 < chars.count, chars[i + 1] == ":" {
        previousWasCast = true
        i += 2
        continue
      }
      if c.isLetter || c == "_" {
        var word = ""
        while i < chars.count, chars[i].isLetter || chars[i].isNumber || chars[i] == "_" || chars[i] == "." {
          word.append(chars[i])
          i += 1
        }
        var j = i
        while j < chars.count, chars[j] == " " { j += 1 }
        if j < chars.count, chars[j] == "(", !previousWasCast {
          names.append(String(word.lowercased().split(separator: ".").last ?? ""))
        }
        previousWasCast = false
        continue
      }
      if !c.isWhitespace { previousWasCast = false }
      i += 1
    }
    return names
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
