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
    defer {
      parser.openMembers.free()
      parser.openItems.free()
      parser.shortStrings.free()
    }
    return try parser.value()
  }

  private struct Parser {
    let bytes: UnsafeBufferPointer<UInt8>
    var i = 0
    /// The members and items read so far of the objects and arrays still open, innermost last:
    /// each object or array is built once, at its exact size, when it closes. Appending to its
    /// own array instead regrew it 1, 2, 4, 8...: most of the tree's allocations, and its frees.
    var openMembers = OpenValues<(String, JSONValue)>()
    var openItems = OpenValues<JSONValue>()
    /// Keys and short values repeat (`relname`, `location`, a table's name): read once each.
    var shortStrings = ShortStrings()

    mutating func skipSpace() {
      while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
    }

    mutating func value() throws -> JSONValue {
      skipSpace()
      guard i < bytes.count else { throw ParseError() }
      switch bytes[i] {
      case UInt8(ascii: "{"):
        i += 1
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
          i += 1
          return .object([])
        }
        let base = openMembers.count
        while true {
          skipSpace()
          let key = try string()
          skipSpace()
          guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw ParseError() }
          i += 1
          let member = try value()
          openMembers.append((key, member))
          skipSpace()
          guard i < bytes.count else { throw ParseError() }
          if bytes[i] == UInt8(ascii: ",") {
            i += 1
          } else if bytes[i] == UInt8(ascii: "}") {
            i += 1
            return .object(openMembers.take(from: base))
          } else {
            throw ParseError()
          }
        }
      case UInt8(ascii: "["):
        i += 1
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
          i += 1
          return .array([])
        }
        let base = openItems.count
        while true {
          let item = try value()
          openItems.append(item)
          skipSpace()
          guard i < bytes.count else { throw ParseError() }
          if bytes[i] == UInt8(ascii: ",") {
            i += 1
          } else if bytes[i] == UInt8(ascii: "]") {
            i += 1
            return .array(openItems.take(from: base))
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
        let text = UnsafeBufferPointer(rebasing: bytes[start..<i])
        i += 1
        guard text.count <= ShortStrings.maxLength else { return String(decoding: text, as: UTF8.self) }
        return shortStrings.string(text, sixteenReadable: start + 16 <= bytes.count)
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

/// A stack of values whose tops are moved out into exact-size arrays, for `JSONValue.parse`.
/// Moving (not copying, as `Array(slice)` then `removeSubrange` did) costs no reference
/// counting, and the generic copy of a tuple array went through the runtime's slow path.
private struct OpenValues<Element> {
  private var base = UnsafeMutablePointer<Element>.allocate(capacity: 256)
  private var capacity = 256
  private(set) var count = 0

  @inline(__always) mutating func append(_ value: consuming Element) {
    if count == capacity {
      let grown = UnsafeMutablePointer<Element>.allocate(capacity: capacity * 2)
      grown.moveInitialize(from: base, count: count)
      base.deallocate()
      base = grown
      capacity *= 2
    }
    (base + count).initialize(to: value)
    count += 1
  }

  /// The values from `start` up, in order, as one array; they leave the stack.
  @inline(__always) mutating func take(from start: Int) -> [Element] {
    let n = count - start
    let source = base + start
    count = start
    // Not `Array(unsafeUninitializedCapacity:)`: it calls the standard library's unspecialised
    // buffer allocation, which looks the array's type metadata up at run time (a locked map).
    var values: [Element] = []
    values.reserveCapacity(n)
    for k in 0..<n { values.append((source + k).move()) }
    return values
  }

  /// Drops what is left (after a parse error) and the storage.
  mutating func free() {
    base.deinitialize(count: count)
    base.deallocate()
    count = 0
  }
}

/// The strings of at most 15 UTF-8 bytes (the ones Swift stores inline) a parse has read, by
/// their bytes: a direct-mapped cache, so a repeated key or name costs a hash and a compare
/// instead of validating and building a new `String` (about a tenth of reading a tree).
private struct ShortStrings {
  static let maxLength = 15
  private static let slots = 512
  /// Each slot's bytes, packed in two words with the length in the top byte; `empty` when unused.
  private let words = UnsafeMutablePointer<(UInt64, UInt64)>.allocate(capacity: slots)
  private let strings = UnsafeMutablePointer<String>.allocate(capacity: slots)
  private static let empty: (UInt64, UInt64) = (0, .max)

  init() { words.initialize(repeating: Self.empty, count: Self.slots) }

  /// The string of `text` (at most `maxLength` bytes), as `String(decoding:as:)` reads it.
  /// `sixteenReadable`: 16 bytes from `text`'s start are in the buffer, so they are read as two
  /// words (the bytes past `text` masked off) instead of byte by byte.
  mutating func string(_ text: UnsafeBufferPointer<UInt8>, sixteenReadable: Bool) -> String {
    let n = text.count
    var low: UInt64 = 0
    var high: UInt64 = 0
    if sixteenReadable, let start = text.baseAddress {
      let raw = UnsafeRawPointer(start)
      low = UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self))
      high = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
      if n < 8 {
        low &= (1 << (8 * UInt64(n))) &- 1
        high = 0
      } else {
        high &= (1 << (8 * UInt64(n - 8))) &- 1
      }
    } else {
      for k in 0..<min(8, n) { low |= UInt64(text[k]) << (8 * k) }
      if n > 8 { for k in 8..<n { high |= UInt64(text[k]) << (8 * (k - 8)) } }
    }
    high |= UInt64(n) << 56
    let hash = (low &* 0x9E37_79B9_7F4A_7C15) ^ (high &* 0xC2B2_AE3D_27D4_EB4F)
    let slot = Int(truncatingIfNeeded: hash >> 55) & (Self.slots - 1)
    if words[slot] == (low, high) { return strings[slot] }
    let string = String(decoding: text, as: UTF8.self)
    if words[slot] == Self.empty {
      (strings + slot).initialize(to: string)
    } else {
      strings[slot] = string
    }
    words[slot] = (low, high)
    return string
  }

  func free() {
    for slot in 0..<Self.slots where words[slot] != Self.empty { (strings + slot).deinitialize(count: 1) }
    words.deallocate()
    strings.deallocate()
  }
}
