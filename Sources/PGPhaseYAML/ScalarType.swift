import Yams

/// The YAML 1.1 type of a plain scalar, by the same rules as Yams' default resolver (bool, int,
/// float, merge, null, timestamp, value, in that order) but matched by hand: the resolver's
/// NSRegularExpressions took a fifth of the time of planning a thousand intents. A
/// differential test holds the two to the same answers.
enum ScalarType {
  /// The tag Yams' default resolver gives a plain scalar with this text.
  static func tag(of text: String) -> Tag.Name {
    let s = Array(text.utf8)
    if isBool(s) { return .bool }
    if isInt(s) { return .int }
    if isFloat(s) { return .float }
    if s == [UInt8(ascii: "<"), UInt8(ascii: "<")] { return .merge }
    if isNull(s) { return .null }
    if isTimestamp(s) { return .timestamp }
    if s == [UInt8(ascii: "=")] { return .value }
    return .str
  }

  static let bools: Set<[UInt8]> = Set(
    [
      "yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off", "Off",
      "OFF",
    ]
    .map { Array($0.utf8) })
  static let nulls: Set<[UInt8]> = Set(["~", "null", "Null", "NULL", ""].map { Array($0.utf8) })

  static func isBool(_ s: [UInt8]) -> Bool { s.count <= 5 && bools.contains(s) }
  static func isNull(_ s: [UInt8]) -> Bool { s.count <= 4 && nulls.contains(s) }

  private static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
  private static func isHex(_ c: UInt8) -> Bool { isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66) }
  private static let underscore = UInt8(ascii: "_")

  /// `[-+]?`: the index after an optional sign.
  private static func afterSign(_ s: [UInt8]) -> Int {
    guard let first = s.first else { return 0 }
    return first == UInt8(ascii: "-") || first == UInt8(ascii: "+") ? 1 : 0
  }

  /// `(?::[0-5]?[0-9])+` from `i`; returns the index after it, or nil if not at least one group.
  private static func sexagesimal(_ s: [UInt8], from start: Int) -> Int? {
    var i = start
    var groups = 0
    while i < s.count, s[i] == UInt8(ascii: ":") {
      var j = i + 1
      guard j < s.count, isDigit(s[j]) else { break }
      if j + 1 < s.count, isDigit(s[j + 1]), s[j] <= UInt8(ascii: "5") { j += 2 } else { j += 1 }
      i = j
      groups += 1
    }
    return groups > 0 ? i : nil
  }

  /// Index after `[chars]*` from `i`.
  private static func run(_ s: [UInt8], from start: Int, _ accept: (UInt8) -> Bool) -> Int {
    var i = start
    while i < s.count, accept(s[i]) { i += 1 }
    return i
  }

  static func isInt(_ s: [UInt8]) -> Bool {
    let i = afterSign(s)
    guard i < s.count else { return false }
    let rest = s[i...]
    // [-+]?0b[0-1_]+
    if rest.starts(with: "0b".utf8), s.count > i + 2,
      run(s, from: i + 2, { $0 == 0x30 || $0 == 0x31 || $0 == underscore }) == s.count
    {
      return true
    }
    // [-+]?0x[0-9a-fA-F_]+
    if rest.starts(with: "0x".utf8), s.count > i + 2, run(s, from: i + 2, { isHex($0) || $0 == underscore }) == s.count {
      return true
    }
    // [-+]?0o?[0-7_]+  (also plain 0[0-7_]+)
    if s[i] == 0x30 {
      var j = i + 1
      if j < s.count, s[j] == UInt8(ascii: "o") { j += 1 }
      if s.count > j, run(s, from: j, { ($0 >= 0x30 && $0 <= 0x37) || $0 == underscore }) == s.count { return true }
    }
    // [-+]?(?:0|[1-9][0-9_]*)
    if s[i] == 0x30 && s.count == i + 1 { return true }
    if s[i] >= 0x31 && s[i] <= 0x39 {
      let end = run(s, from: i + 1) { isDigit($0) || $0 == underscore }
      if end == s.count { return true }
      // [-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+
      if let after = sexagesimal(s, from: end), after == s.count { return true }
    }
    return false
  }

  static func isFloat(_ s: [UInt8]) -> Bool {
    let dot = UInt8(ascii: ".")
    let i = afterSign(s)
    // [-+]?\.(?:inf|Inf|INF)
    if s.count == i + 4, s[i] == dot, ["inf", "Inf", "INF"].contains(where: { s[(i + 1)...].elementsEqual($0.utf8) }) {
      return true
    }
    // \.(?:nan|NaN|NAN)
    if s.count == 4, s[0] == dot, ["nan", "NaN", "NAN"].contains(where: { s[1...].elementsEqual($0.utf8) }) { return true }
    // \.[0-9_]+(?:[eE][-+][0-9]+)?   (no sign)
    if let first = s.first, first == dot {
      let end = run(s, from: 1) { isDigit($0) || $0 == underscore }
      if end > 1 {
        if end == s.count { return true }
        if s[end] == UInt8(ascii: "e") || s[end] == UInt8(ascii: "E"), end + 2 < s.count,
          s[end + 1] == UInt8(ascii: "-") || s[end + 1] == UInt8(ascii: "+"), run(s, from: end + 2, isDigit) == s.count
        {
          return true
        }
      }
    }
    guard i < s.count, isDigit(s[i]) else { return false }
    let intEnd = run(s, from: i + 1) { isDigit($0) || $0 == underscore }
    // [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
    if let after = sexagesimal(s, from: intEnd), after < s.count, s[after] == dot,
      run(s, from: after + 1, { isDigit($0) || $0 == underscore }) == s.count
    {
      return true
    }
    // [-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?
    var j = intEnd
    if j < s.count, s[j] == dot { j = run(s, from: j + 1) { isDigit($0) || $0 == underscore } }
    if j == s.count { return true }
    guard s[j] == UInt8(ascii: "e") || s[j] == UInt8(ascii: "E") else { return false }
    j += 1
    if j < s.count, s[j] == UInt8(ascii: "-") || s[j] == UInt8(ascii: "+") { j += 1 }
    return j < s.count && run(s, from: j, isDigit) == s.count
  }

  static func isTimestamp(_ s: [UInt8]) -> Bool {
    func digits(_ from: Int, _ count: Int) -> Bool {
      from + count <= s.count && s[from..<(from + count)].allSatisfy(isDigit)
    }
    let dash = UInt8(ascii: "-")
    let colon = UInt8(ascii: ":")
    // [0-9]{4}-[0-9]{2}-[0-9]{2}
    if s.count == 10, digits(0, 4), s[4] == dash, digits(5, 2), s[7] == dash, digits(8, 2) { return true }
    // [0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?
    guard digits(0, 4), s.count > 4, s[4] == dash else { return false }
    var i = 5
    func oneOrTwoDigits() -> Bool {
      guard digits(i, 1) else { return false }
      i += digits(i, 2) ? 2 : 1
      return true
    }
    guard oneOrTwoDigits(), i < s.count, s[i] == dash else { return false }
    i += 1
    guard oneOrTwoDigits(), i < s.count else { return false }
    if s[i] == UInt8(ascii: "T") || s[i] == UInt8(ascii: "t") {
      i += 1
    } else {
      let end = run(s, from: i) { $0 == 0x20 || $0 == 0x09 }
      guard end > i else { return false }
      i = end
    }
    guard oneOrTwoDigits(), i < s.count, s[i] == colon, digits(i + 1, 2) else { return false }
    i += 3
    guard i < s.count, s[i] == colon, digits(i + 1, 2) else { return false }
    i += 3
    if i < s.count, s[i] == UInt8(ascii: ".") { i = run(s, from: i + 1, isDigit) }
    if i == s.count { return true }
    i = run(s, from: i) { $0 == 0x20 || $0 == 0x09 }
    guard i < s.count else { return false }
    if s[i] == UInt8(ascii: "Z") { return i + 1 == s.count }
    guard s[i] == dash || s[i] == UInt8(ascii: "+") else { return false }
    i += 1
    guard oneOrTwoDigits() else { return false }
    if i == s.count { return true }
    return s[i] == colon && digits(i + 1, 2) && i + 3 == s.count
  }
}
