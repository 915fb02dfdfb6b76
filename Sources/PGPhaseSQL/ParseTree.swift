/// A node of libpg_query's parse tree. libpg_query hands the tree over as JSON; `parse` reads it
/// straight from the UTF-8 bytes into plain values. Measured against `JSONDecoder` (into a
/// `Decodable` tree) and `JSONSerialization` by `pgphase-sql-bench` (bench/lint/README.md), it is
/// the fastest of the three, and `ParseTreeReaderTests` checks it against `JSONSerialization`
/// over a corpus of statements.
package enum JSONValue: Sendable, Equatable {
  case null
  case bool(Bool)
  case number(Double)
  case string(String)
  case array([JSONValue])
  /// Keys in document order; objects in a parse tree are small, so lookups scan.
  case object([(String, JSONValue)])

  package static func == (a: JSONValue, b: JSONValue) -> Bool {
    switch (a, b) {
    case (.null, .null): true
    case (.bool(let x), .bool(let y)): x == y
    case (.number(let x), .number(let y)): x == y
    case (.string(let x), .string(let y)): x == y
    case (.array(let x), .array(let y)): x == y
    case (.object(let x), .object(let y)): x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    default: false
    }
  }

  package subscript(key: String) -> JSONValue? {
    guard case .object(let members) = self else { return nil }
    for (k, v) in members where k == key { return v }
    return nil
  }

  package var string: String? {
    if case .string(let s) = self { return s }
    return nil
  }
  package var int: Int? {
    if case .number(let n) = self { return Int(n) }
    return nil
  }
  package var bool: Bool? {
    if case .bool(let b) = self { return b }
    return nil
  }
  package var array: [JSONValue] {
    if case .array(let a) = self { return a }
    return []
  }
  package var members: [(String, JSONValue)] {
    if case .object(let m) = self { return m }
    return []
  }

  /// For a node wrapper like `{"FuncCall": {...}}`: the node type and its fields.
  package var node: (type: String, fields: JSONValue)? {
    guard case .object(let m) = self, m.count == 1 else { return nil }
    return (m[0].0, m[0].1)
  }

  /// The fields of this node if it is a wrapper of the given type.
  package func node(_ type: String) -> JSONValue? {
    guard let n = node, n.type == type else { return nil }
    return n.fields
  }

  /// Visits every value in the tree, depth first (the value itself first).
  package func walk(_ visit: (JSONValue) -> Void) {
    visit(self)
    switch self {
    case .array(let a): for v in a { v.walk(visit) }
    case .object(let m): for (_, v) in m { v.walk(visit) }
    default: break
    }
  }

  /// Whether any node in the tree satisfies the predicate.
  package func contains(where predicate: (JSONValue) -> Bool) -> Bool {
    if predicate(self) { return true }
    switch self {
    case .array(let a): return a.contains { $0.contains(where: predicate) }
    case .object(let m): return m.contains { $0.1.contains(where: predicate) }
    default: return false
    }
  }

  package struct ParseError: Error {}

  package static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws -> JSONValue {
    var parser = Parser(bytes: bytes)
    let value = try parser.value()
    return value
  }

  private struct Parser {
    let bytes: UnsafeBufferPointer<UInt8>
    var i = 0

    mutating func skipSpace() {
      while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
    }

    mutating func value() throws -> JSONValue {
      skipSpace()
      guard i < bytes.count else { throw ParseError() }
      switch bytes[i] {
      case UInt8(ascii: "{"):
        i += 1
        var members: [(String, JSONValue)] = []
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
          i += 1
          return .object(members)
        }
        while true {
          skipSpace()
          let key = try string()
          skipSpace()
          guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw ParseError() }
          i += 1
          members.append((key, try value()))
          skipSpace()
          guard i < bytes.count else { throw ParseError() }
          if bytes[i] == UInt8(ascii: ",") {
            i += 1
          } else if bytes[i] == UInt8(ascii: "}") {
            i += 1
            return .object(members)
          } else {
            throw ParseError()
          }
        }
      case UInt8(ascii: "["):
        i += 1
        var items: [JSONValue] = []
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
          i += 1
          return .array(items)
        }
        while true {
          items.append(try value())
          skipSpace()
          guard i < bytes.count else { throw ParseError() }
          if bytes[i] == UInt8(ascii: ",") {
            i += 1
          } else if bytes[i] == UInt8(ascii: "]") {
            i += 1
            return .array(items)
          } else {
            throw ParseError()
          }
        }
      case UInt8(ascii: "\""):
        return .string(try string())
      case UInt8(ascii: "t"):
        i += 4
        return .bool(true)
      case UInt8(ascii: "f"):
        i += 5
        return .bool(false)
      case UInt8(ascii: "n"):
        i += 4
        return .null
      default:
        return .number(try number())
      }
    }

    mutating func number() throws -> Double {
      let start = i
      var isInteger = true
      while i < bytes.count {
        let c = bytes[i]
        if (c >= 0x30 && c <= 0x39) || c == UInt8(ascii: "-") {
          i += 1
        } else if c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") || c == UInt8(ascii: "+") {
          isInteger = false
          i += 1
        } else {
          break
        }
      }
      guard i > start else { throw ParseError() }
      if isInteger {
        var n = 0
        var negative = false
        for j in start..<i {
          if bytes[j] == UInt8(ascii: "-") { negative = true } else { n = n &* 10 &+ Int(bytes[j] - 0x30) }
        }
        return Double(negative ? -n : n)
      }
      let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
      guard let d = Double(text) else { throw ParseError() }
      return d
    }

    mutating func string() throws -> String {
      guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw ParseError() }
      i += 1
      let start = i
      // Fast path: no escapes.
      while i < bytes.count, bytes[i] != UInt8(ascii: "\""), bytes[i] != UInt8(ascii: "\\") { i += 1 }
      guard i < bytes.count else { throw ParseError() }
      if bytes[i] == UInt8(ascii: "\"") {
        let s = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
        i += 1
        return s
      }
      var out: [UInt8] = Array(bytes[start..<i])
      while i < bytes.count {
        let c = bytes[i]
        if c == UInt8(ascii: "\"") {
          i += 1
          return String(decoding: out, as: UTF8.self)
        }
        if c == UInt8(ascii: "\\") {
          i += 1
          guard i < bytes.count else { throw ParseError() }
          let e = bytes[i]
          i += 1
          switch e {
          case UInt8(ascii: "n"): out.append(0x0A)
          case UInt8(ascii: "t"): out.append(0x09)
          case UInt8(ascii: "r"): out.append(0x0D)
          case UInt8(ascii: "b"): out.append(0x08)
          case UInt8(ascii: "f"): out.append(0x0C)
          case UInt8(ascii: "u"):
            var scalar = try hex4()
            if scalar >= 0xD800, scalar < 0xDC00, i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"),
              bytes[i + 1] == UInt8(ascii: "u")
            {
              i += 2
              let low = try hex4()
              scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            out.append(contentsOf: Array(String(Character(Unicode.Scalar(scalar) ?? "\u{FFFD}")).utf8))
          default: out.append(e)
          }
        } else {
          out.append(c)
          i += 1
        }
      }
      throw ParseError()
    }

    mutating func hex4() throws -> UInt32 {
      guard i + 4 <= bytes.count else { throw ParseError() }
      var v: UInt32 = 0
      for _ in 0..<4 {
        let c = bytes[i]
        i += 1
        v <<= 4
        switch c {
        case 0x30...0x39: v |= UInt32(c - 0x30)
        case 0x41...0x46: v |= UInt32(c - 0x41 + 10)
        case 0x61...0x66: v |= UInt32(c - 0x61 + 10)
        default: throw ParseError()
        }
      }
      return v
    }
  }
}
