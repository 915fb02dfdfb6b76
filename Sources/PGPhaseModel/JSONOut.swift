/// Output JSON, written by hand: several times faster than JSONSerialization or JSONEncoder on
/// output of thousands of values (lint reports, a thousand plan.json files), and byte for byte
/// what `Style` says, so committed output stays stable.
public enum JSONOut: Sendable {
  case string(String)
  case int(Int)
  case bool(Bool)
  case null
  case array([JSONOut])
  /// Members in the order given; `Style.sortsKeys` decides whether they are written so.
  case object([(String, JSONOut)])
  /// Already-rendered JSON (a number, or a whole value), inserted as is.
  case raw(String)

  /// A string, or null.
  public static func optional(_ s: String?) -> JSONOut { s.map { .string($0) } ?? .null }

  /// How the text is laid out. Both styles indent by two spaces, one member or item a line.
  public struct Style: Sendable {
    /// Object members sorted by the UTF-8 bytes of their keys, instead of in the order given.
    public var sortsKeys: Bool
    /// Between a key and its value.
    public var keySeparator: String
    /// An empty array or object as `[`, a blank line and `]` at the container's indentation.
    public var emptyContainersOpen: Bool
    /// Backspace and form feed as `\b` and `\f` rather than `\u0008` and `\u000c`.
    public var shortControlEscapes: Bool

    /// Keys in the order given, `"key": value`, `[]`: pgphase's own reports (lint `--format json`).
    public static let ordered = Style(
      sortsKeys: false, keySeparator: ": ", emptyContainersOpen: false, shortControlEscapes: false)

    /// What Foundation's JSONEncoder writes with `[.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]`
    /// (`"key" : value`, keys in UTF-8 order, `[` blank line `]` when empty): plan.json has always
    /// been written so, and a plan's bytes must not change with the writer.
    public static let jsonEncoderPretty = Style(
      sortsKeys: true, keySeparator: " : ", emptyContainersOpen: true, shortControlEscapes: true)
  }

  /// The value as text in `style`, ending with a newline.
  public func rendered(_ style: Style = .ordered) -> String {
    var writer = Writer(style: style)
    writer.bytes.reserveCapacity(4096)
    writer.write(self, indent: 0)
    writer.bytes.append(UInt8(ascii: "\n"))
    return String(decoding: writer.bytes, as: UTF8.self)
  }

  /// The value at `indent` (its nested lines indented from there), without a newline after it:
  /// a piece of a larger document written around it.
  public func fragment(_ style: Style = .ordered, indent: Int) -> String {
    var writer = Writer(style: style)
    writer.write(self, indent: indent)
    return String(decoding: writer.bytes, as: UTF8.self)
  }

  /// `write(i, &text)` for i in 0..<count, in chunks rendered on every core: the chunks' texts,
  /// in order, joined, are what one loop would have written (a lint report's thousands of findings).
  public static func renderedConcurrently(count: Int, _ write: @Sendable (Int, inout String) -> Void) -> [String] {
    let chunkSize = 256
    let chunks = Array(0..<((count + chunkSize - 1) / chunkSize))
    return Parallel.map(chunks) { chunk in
      var out = ""
      out.reserveCapacity(chunkSize * 512)
      for i in (chunk * chunkSize)..<min(count, (chunk + 1) * chunkSize) { write(i, &out) }
      return out
    }
  }

  struct Writer {
    let style: Style
    var bytes: [UInt8] = []

    mutating func newline(indent: Int) {
      bytes.append(UInt8(ascii: "\n"))
      for _ in 0..<indent { bytes.append(UInt8(ascii: " ")) }
    }

    mutating func write(_ value: JSONOut, indent: Int) {
      switch value {
      case .string(let s): escape(s)
      case .int(let i): bytes.append(contentsOf: String(i).utf8)
      case .bool(let b): bytes.append(contentsOf: (b ? "true" : "false").utf8)
      case .null: bytes.append(contentsOf: "null".utf8)
      case .raw(let text): bytes.append(contentsOf: text.utf8)
      case .array(let items):
        bytes.append(UInt8(ascii: "["))
        if items.isEmpty {
          if style.emptyContainersOpen { empty(indent: indent) }
        } else {
          for (i, item) in items.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            newline(indent: indent + 2)
            write(item, indent: indent + 2)
          }
          newline(indent: indent)
        }
        bytes.append(UInt8(ascii: "]"))
      case .object(let members):
        bytes.append(UInt8(ascii: "{"))
        if members.isEmpty {
          if style.emptyContainersOpen { empty(indent: indent) }
        } else {
          let ordered =
            style.sortsKeys && !Self.isSorted(members)
            ? members.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) } : members
          for (i, (key, value)) in ordered.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            newline(indent: indent + 2)
            escape(key)
            bytes.append(contentsOf: style.keySeparator.utf8)
            write(value, indent: indent + 2)
          }
          newline(indent: indent)
        }
        bytes.append(UInt8(ascii: "}"))
      }
    }

    mutating func empty(indent: Int) {
      bytes.append(UInt8(ascii: "\n"))
      newline(indent: indent)
    }

    static func isSorted(_ members: [(String, JSONOut)]) -> Bool {
      var previous: String?
      for (key, _) in members {
        if let previous, !previous.utf8.lexicographicallyPrecedes(key.utf8) { return false }
        previous = key
      }
      return true
    }

    mutating func escape(_ s: String) {
      bytes.append(UInt8(ascii: "\""))
      var s = s
      s.withUTF8 { utf8 in
        // Most strings (names, SQL, paths, messages) need no escaping: append them whole.
        if !utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
          bytes.append(contentsOf: utf8)
        } else {
          escapeBytes(utf8)
        }
      }
      bytes.append(UInt8(ascii: "\""))
    }

    mutating func escapeBytes(_ utf8: UnsafeBufferPointer<UInt8>) {
      for byte in utf8 {
        switch byte {
        case UInt8(ascii: "\""): bytes.append(contentsOf: #"\""#.utf8)
        case UInt8(ascii: "\\"): bytes.append(contentsOf: #"\\"#.utf8)
        case UInt8(ascii: "\n"): bytes.append(contentsOf: #"\n"#.utf8)
        case UInt8(ascii: "\r"): bytes.append(contentsOf: #"\r"#.utf8)
        case UInt8(ascii: "\t"): bytes.append(contentsOf: #"\t"#.utf8)
        case 0x08 where style.shortControlEscapes: bytes.append(contentsOf: #"\b"#.utf8)
        case 0x0C where style.shortControlEscapes: bytes.append(contentsOf: #"\f"#.utf8)
        case 0..<0x20:
          let hex = Array("0123456789abcdef".utf8)
          bytes.append(contentsOf: #"\u00"#.utf8)
          bytes.append(hex[Int(byte >> 4)])
          bytes.append(hex[Int(byte & 0xF)])
        default: bytes.append(byte)
        }
      }
    }
  }
}
