/// A position in a user's file, 1-based, so editors and CI can jump to it.
public struct SourceLocation: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
  /// The file as the caller named it (relative paths stay relative).
  public var file: String
  /// 1-based.
  public var line: Int
  /// 1-based, in characters.
  public var column: Int

  /// A position in `file`.
  public init(file: String, line: Int, column: Int) {
    self.file = file
    self.line = line
    self.column = column
  }

  /// `file:line:column`, the form editors and CI annotations understand.
  public var description: String { "\(file):\(line):\(column)" }

  /// By file, then line, then column: the order problems are listed in.
  public static func < (a: SourceLocation, b: SourceLocation) -> Bool {
    (a.file, a.line, a.column) < (b.file, b.line, b.column)
  }
}

/// A problem for a user to read, from any command: bad input, a refused or failed step, a
/// database that cannot be reached. Diagnostics are values, collected and reported together, so
/// one run shows every problem in a file rather than only the first, and every command prints
/// them the same way (`description`).
public struct Diagnostic: Hashable, Sendable, Codable, CustomStringConvertible {
  /// How bad it is; only errors stop a run.
  public enum Severity: String, Sendable, Codable, Comparable {
    case note, warning, error
    private var rank: Int {
      switch self {
      case .note: 0
      case .warning: 1
      case .error: 2
      }
    }
    /// note < warning < error.
    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
  }

  /// Keys of `context` that pgphase fills and `description` prints.
  public enum ContextKey {
    /// The intent a step belongs to.
    public static let intent = "intent"
    /// A step id (`expand/01-...`), with `intent`.
    public static let step = "step"
    /// The server's SQLSTATE, when PostgreSQL reported the error.
    public static let sqlState = "sqlstate"
    /// The server's DETAIL, when it gave one.
    public static let detail = "detail"
    /// The statement that failed.
    public static let statement = "statement"
  }

  /// Whether it stops the run (errors do).
  public var severity: Severity
  /// What is wrong, in one sentence; the place is printed before it.
  public var message: String
  /// Where in a user's file, when the problem is in one.
  public var location: SourceLocation?
  /// The database object the problem is about (`public.t`, `index public.t_a_idx`), when known.
  public var object: String?
  /// Where else it happened and what the server said: `intent`, `step`, `sqlstate`, `detail`,
  /// `statement` (see `ContextKey`).
  public var context: [String: String]
  /// How to fix it, when we know: a did-you-mean, or the safe way to write the change.
  public var hint: String?

  /// A diagnostic at `location` (nil: not in a file), with the object and context it concerns.
  public init(
    _ severity: Severity, _ message: String, at location: SourceLocation?, object: String? = nil,
    context: [String: String] = [:], hint: String? = nil
  ) {
    self.severity = severity
    self.message = message
    self.location = location
    self.object = object
    self.context = context
    self.hint = hint
  }

  /// An error at a place in a file (nil: not in a file).
  public static func error(_ message: String, at location: SourceLocation?, hint: String? = nil) -> Diagnostic {
    Diagnostic(.error, message, at: location, hint: hint)
  }

  /// An error about a step of an intent (or the intent itself when `step` is nil).
  public static func error(
    _ message: String, intent: String, step: String? = nil, object: String? = nil, hint: String? = nil
  ) -> Diagnostic {
    var context = [ContextKey.intent: intent]
    if let step { context[ContextKey.step] = step }
    return Diagnostic(.error, message, at: nil, object: object, context: context, hint: hint)
  }

  /// The server's SQLSTATE, when PostgreSQL reported the problem.
  public var sqlState: String? { context[ContextKey.sqlState] }

  /// Where the problem is, as the line's prefix: `file:line:col` for a place in a file,
  /// `<intent> <step>` for a step, `<intent>` for an intent, else the object (a file without a
  /// position, an index); nil when it is about none of them.
  public var place: String? {
    if let location { return location.description }
    guard let intent = context[ContextKey.intent] else { return object }
    return context[ContextKey.step].map { "\(intent) \($0)" } ?? intent
  }

  /// `<place>: severity: message (SQLSTATE x)`, then detail, statement and hint on their own
  /// indented lines: the one way every command prints a problem.
  public var description: String {
    var text = place.map { "\($0): " } ?? ""
    text += "\(severity.rawValue): \(message)"
    if let sqlState { text += " (SQLSTATE \(sqlState))" }
    if let detail = context[ContextKey.detail] { text += "\n  detail: \(detail)" }
    if let statement = context[ContextKey.statement] { text += "\n  statement: \(statement)" }
    if let hint { text += "\n  hint: \(hint)" }
    return text
  }

  enum CodingKeys: String, CodingKey {
    case severity, message, location, object, context, hint
  }

  /// Reads the JSON `encode(to:)` writes.
  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    severity = try c.decode(Severity.self, forKey: .severity)
    message = try c.decode(String.self, forKey: .message)
    location = try c.decodeIfPresent(SourceLocation.self, forKey: .location)
    object = try c.decodeIfPresent(String.self, forKey: .object)
    context = try c.decodeIfPresent([String: String].self, forKey: .context) ?? [:]
    hint = try c.decodeIfPresent(String.self, forKey: .hint)
  }

  /// `context` is left out when empty.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(severity, forKey: .severity)
    try c.encode(message, forKey: .message)
    try c.encodeIfPresent(location, forKey: .location)
    try c.encodeIfPresent(object, forKey: .object)
    if !context.isEmpty { try c.encode(context, forKey: .context) }
    try c.encodeIfPresent(hint, forKey: .hint)
  }
}

/// Thrown when input has at least one error-severity diagnostic; carries all of them.
public struct DiagnosticsError: Error, Sendable, CustomStringConvertible {
  /// Every diagnostic of the run, errors and warnings.
  public var diagnostics: [Diagnostic]
  /// Carries `diagnostics`.
  public init(_ diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }
  /// One diagnostic per line group, as `Diagnostic.description` prints them.
  public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

extension Array where Element == Diagnostic {
  /// Whether any of them stops the run.
  public var hasErrors: Bool { contains { $0.severity == .error } }
}
