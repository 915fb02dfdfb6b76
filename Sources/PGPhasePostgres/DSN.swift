import CLibPQ
import Foundation

/// Connection strings, read by libpq itself (`PQconninfoParse`), so pgphase understands a DSN
/// exactly as the connection will: key/value strings with quoting and escapes, `postgres://` and
/// `postgresql://` URIs with percent-encoding and query parameters, and (as `--dsn` passes it to
/// libpq with `expand_dbname`) a bare database name.
public enum DSN {
  /// One option a connection string sets.
  public struct Option: Sendable, Equatable {
    public var keyword: String
    public var value: String
    /// A password-like field: libpq marks it for hiding (`dispchar` `*`: password, sslpassword,
    /// and what later libpq versions add), or its name says it is one.
    public var isSecret: Bool
  }

  /// True for the `postgresql://` and `postgres://` URI forms libpq accepts.
  public static func isURI(_ dsn: String) -> Bool {
    let lower = dsn.drop(while: \.isWhitespace).lowercased()
    return lower.hasPrefix("postgresql://") || lower.hasPrefix("postgres://")
  }

  /// The options `dsn` sets, in libpq's order; nil when libpq cannot parse it. A string that is
  /// neither a URI nor has an `=` is a database name, as libpq reads `dbname` with
  /// `expand_dbname`.
  public static func parse(_ dsn: String) -> [Option]? {
    if !isURI(dsn), !dsn.contains("=") {
      let trimmed = dsn.trimmingCharacters(in: .whitespaces)
      return trimmed.isEmpty ? [] : [Option(keyword: "dbname", value: dsn, isSecret: false)]
    }
    var error: UnsafeMutablePointer<CChar>?
    guard let options = PQconninfoParse(dsn, &error) else {
      if let error { PQfreemem(error) }
      return nil
    }
    defer { PQconninfoFree(options) }
    var out: [Option] = []
    var option = options
    while let keyword = option.pointee.keyword {
      if let value = option.pointee.val {
        let name = String(cString: keyword)
        let hidden = option.pointee.dispchar.map { String(cString: $0).contains("*") } ?? false
        let lower = name.lowercased()
        out.append(
          Option(
            keyword: name, value: String(cString: value),
            isSecret: hidden || lower.contains("password") || lower.contains("secret")))
      }
      option += 1
    }
    return out
  }

  /// libpq's reason for refusing `dsn`, with every quoted fragment of the string (which may be
  /// part of a password) replaced by `***`; nil when it parses.
  public static func parseError(_ dsn: String) -> String? {
    guard isURI(dsn) || dsn.contains("=") else { return nil }
    var error: UnsafeMutablePointer<CChar>?
    if let options = PQconninfoParse(dsn, &error) {
      PQconninfoFree(options)
      return nil
    }
    defer { if let error { PQfreemem(error) } }
    let message = error.map { String(cString: $0) } ?? "invalid connection string"
    return redactQuoted(message.trimmingCharacters(in: .whitespacesAndNewlines))
  }

  /// `"fragment"` → `"***"` for every double-quoted fragment longer than one character (libpq
  /// quotes pieces of the string it could not read; a lone `"="` it expected is kept).
  static func redactQuoted(_ message: String) -> String {
    var out = ""
    var rest = Substring(message)
    while let open = rest.firstIndex(of: "\"") {
      out += rest[..<open]
      let after = rest.index(after: open)
      guard let close = rest[after...].firstIndex(of: "\"") else {
        out += "\"***"
        return out
      }
      let inner = rest[after..<close]
      out += inner.count > 1 ? "\"***\"" : "\"\(inner)\""
      rest = rest[rest.index(after: close)...]
    }
    return out + rest
  }

  /// A value as a key/value string writes it: bare when it can be, else single-quoted with
  /// backslash escapes.
  static func quote(_ value: String) -> String {
    let plain = !value.isEmpty && !value.contains { $0.isWhitespace || $0 == "'" || $0 == "\\" || $0 == "=" }
    if plain { return value }
    return "'" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
  }
}

/// The DSN for messages and logs: unchanged when it holds no secret; otherwise rewritten as the
/// key/value string libpq reads from it, with every password-like field `***`; `***` as a whole
/// when libpq cannot parse it (what part is a password is then unknown).
public func redactDSN(_ dsn: String) -> String {
  guard let options = DSN.parse(dsn) else { return "***" }
  guard options.contains(where: \.isSecret) else { return dsn }
  return options.map { "\($0.keyword)=\($0.isSecret ? "***" : DSN.quote($0.value))" }.joined(separator: " ")
}

/// The secret values a DSN holds (as libpq decoded them, and as written in a URI), so they can
/// also be scrubbed from libpq's messages.
func dsnSecrets(_ dsn: String) -> [String] {
  let values = (DSN.parse(dsn) ?? []).filter(\.isSecret).map(\.value).filter { !$0.isEmpty }
  let encoded = values.compactMap { $0.addingPercentEncoding(withAllowedCharacters: .urlPasswordAllowed) }
  return Array(Set(values + encoded))
}

/// Replaces every occurrence of each secret in `text` with `***`, longest first.
func scrub(_ text: String, secrets: [String]) -> String {
  var out = text
  for secret in secrets.sorted(by: { $0.count > $1.count }) where !secret.isEmpty {
    out = out.replacingOccurrences(of: secret, with: "***")
  }
  return out
}
