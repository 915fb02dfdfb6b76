import Foundation

/// Connection-string helpers that never need libpq.
public enum DSN {
  /// Keys whose values are secrets, in key/value strings and URI query parameters.
  static let secretKeys: Set<String> = ["password", "sslpassword"]

  /// True for the `postgresql://` and `postgres://` URI forms libpq accepts.
  public static func isURI(_ dsn: String) -> Bool {
    let lower = dsn.drop(while: \.isWhitespace).lowercased()
    return lower.hasPrefix("postgresql://") || lower.hasPrefix("postgres://")
  }
}

/// The DSN with every password replaced by `***`, for messages and logs.
///
/// Handles both forms libpq accepts:
/// - key/value: `host=db password=secret`, `password = 'it''s \' quoted'` (values may be
///   single-quoted with backslash escapes); an unterminated quote redacts the rest of the string.
/// - URIs: `postgres://user:secret@host/db` (everything between the first `:` of the user info
///   and the last `@` before the query is redacted, so a password with a raw `@` or `/` is still
///   hidden) and `?password=secret` query parameters.
/// Anything else (e.g. a bare database name) is returned unchanged.
public func redactDSN(_ dsn: String) -> String {
  DSN.isURI(dsn) ? redactURI(dsn) : redactKeyValue(dsn)
}

/// The password values found in a DSN, so they can also be scrubbed from libpq's messages.
func dsnSecrets(_ dsn: String) -> [String] {
  var secrets: [String] = []
  if DSN.isURI(dsn) {
    let chars = Array(dsn)
    guard let schemeEnd = findSchemeEnd(chars) else { return [] }
    let queryStart = chars[schemeEnd...].firstIndex(of: "?") ?? chars.count
    if let at = chars[schemeEnd..<queryStart].lastIndex(of: "@"),
      let colon = chars[schemeEnd..<at].firstIndex(of: ":"), colon + 1 < at
    {
      let raw = String(chars[(colon + 1)..<at])
      secrets.append(raw)
      if let decoded = raw.removingPercentEncodingSimple(), decoded != raw { secrets.append(decoded) }
    }
    if queryStart < chars.count {
      for pair in String(chars[(queryStart + 1)...]).split(separator: "&") {
        let parts = pair.split(separator: "=", maxSplits: 1)
        if parts.count == 2, DSN.secretKeys.contains(parts[0].lowercased()), !parts[1].isEmpty {
          secrets.append(String(parts[1]))
          if let decoded = String(parts[1]).removingPercentEncodingSimple() { secrets.append(decoded) }
        }
      }
    }
  } else {
    for (key, range) in keyValueRanges(dsn) where DSN.secretKeys.contains(key.lowercased()) {
      let raw = String(dsn[range])
      if raw.isEmpty { continue }
      secrets.append(raw)
      if raw.hasPrefix("'") {
        var inner = raw.dropFirst()
        if inner.hasSuffix("'") { inner = inner.dropLast() }
        secrets.append(String(inner).replacingAll("\\'", with: "'").replacingAll("\\\\", with: "\\"))
      }
    }
  }
  return secrets.filter { !$0.isEmpty }
}

/// Replaces every occurrence of each secret in `text` with `***`, longest first.
func scrub(_ text: String, secrets: [String]) -> String {
  var out = text
  for secret in secrets.sorted(by: { $0.count > $1.count }) where !secret.isEmpty {
    out = out.replacingAll(secret, with: "***")
  }
  return out
}

private func findSchemeEnd(_ chars: [Character]) -> Int? {
  // Index just after "://".
  var i = 0
  while i + 2 < chars.count {
    if chars[i] == ":" && chars[i + 1] == "/" && chars[i + 2] == "/" { return i + 3 }
    i += 1
  }
  return nil
}

private func redactURI(_ uri: String) -> String {
  var chars = Array(uri)
  guard let schemeEnd = findSchemeEnd(chars) else { return uri }
  var queryStart = chars[schemeEnd...].firstIndex(of: "?") ?? chars.count
  if let at = chars[schemeEnd..<queryStart].lastIndex(of: "@"),
    let colon = chars[schemeEnd..<at].firstIndex(of: ":"), colon + 1 < at
  {
    chars.replaceSubrange((colon + 1)..<at, with: Array("***"))
    queryStart = chars[schemeEnd...].firstIndex(of: "?") ?? chars.count
  }
  guard queryStart < chars.count else { return String(chars) }
  let head = String(chars[...queryStart])
  let query = String(chars[(queryStart + 1)...])
  let redacted = query.split(separator: "&", omittingEmptySubsequences: false).map { pair -> String in
    let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
    if parts.count == 2, DSN.secretKeys.contains(parts[0].lowercased()) { return "\(parts[0])=***" }
    return String(pair)
  }
  return head + redacted.joined(separator: "&")
}

private func redactKeyValue(_ dsn: String) -> String {
  var out = dsn
  // Replace from the end so earlier ranges stay valid.
  for (key, range) in keyValueRanges(dsn).reversed() where DSN.secretKeys.contains(key.lowercased()) {
    out.replaceSubrange(range, with: "***")
  }
  return out
}

/// Every `key = value` pair of a libpq key/value string, with the range of the value as written
/// (quotes included). Parsing follows libpq's conninfo_parse; on malformed input the last value
/// runs to the end of the string, which redacts conservatively.
private func keyValueRanges(_ s: String) -> [(String, Range<String.Index>)] {
  var result: [(String, Range<String.Index>)] = []
  var i = s.startIndex
  func skipSpace() { while i < s.endIndex, s[i].isWhitespace { i = s.index(after: i) } }
  while true {
    skipSpace()
    guard i < s.endIndex else { break }
    let keyStart = i
    while i < s.endIndex, s[i] != "=", !s[i].isWhitespace { i = s.index(after: i) }
    let key = String(s[keyStart..<i])
    skipSpace()
    guard i < s.endIndex, s[i] == "=" else { break }  // not key/value: leave the rest alone
    i = s.index(after: i)
    skipSpace()
    let valueStart = i
    if i < s.endIndex, s[i] == "'" {
      i = s.index(after: i)
      var closed = false
      while i < s.endIndex {
        if s[i] == "\\" {
          i = s.index(after: i)
          if i < s.endIndex { i = s.index(after: i) }
          continue
        }
        if s[i] == "'" {
          i = s.index(after: i)
          closed = true
          break
        }
        i = s.index(after: i)
      }
      if !closed { i = s.endIndex }
    } else {
      while i < s.endIndex, !s[i].isWhitespace {
        if s[i] == "\\" {
          i = s.index(after: i)
          if i == s.endIndex { break }
        }
        i = s.index(after: i)
      }
    }
    result.append((key, valueStart..<i))
  }
  return result
}

extension String {
  func replacingAll(_ target: String, with replacement: String) -> String {
    guard !target.isEmpty else { return self }
    return replacingOccurrences(of: target, with: replacement)
  }

  /// Percent-decoded text; nil when nothing was encoded or the encoding is bad.
  func removingPercentEncodingSimple() -> String? {
    guard contains("%") else { return nil }
    return removingPercentEncoding
  }
}
