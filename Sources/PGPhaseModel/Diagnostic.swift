/// A position in a user's file, 1-based, so editors and CI can jump to it.
public struct SourceLocation: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
  public var file: String
  public var line: Int
  public var column: Int

  public init(file: String, line: Int, column: Int) {
    self.file = file
    self.line = line
    self.column = column
  }

  public var description: String { "\(file):\(line):\(column)" }

  public static func < (a: SourceLocation, b: SourceLocation) -> Bool {
    (a.file, a.line, a.column) < (b.file, b.line, b.column)
  }
}

/// A problem found in user input. Diagnostics are values, collected and reported together,
/// so one run shows every problem in a file rather than only the first.
public struct Diagnostic: Hashable, Sendable, Codable, CustomStringConvertible {
  public enum Severity: String, Sendable, Codable, Comparable {
    case note, warning, error
    private var rank: Int {
      switch self {
      case .note: 0
      case .warning: 1
      case .error: 2
      }
    }
    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
  }

  public var severity: Severity
  public var message: String
  public var location: SourceLocation?
  /// How to fix it, when we know: a did-you-mean, or the safe way to write the change.
  public var hint: String?

  public init(_ severity: Severity, _ message: String, at location: SourceLocation?, hint: String? = nil) {
    self.severity = severity
    self.message = message
    self.location = location
    self.hint = hint
  }

  public static func error(_ message: String, at location: SourceLocation?, hint: String? = nil) -> Diagnostic {
    Diagnostic(.error, message, at: location, hint: hint)
  }

  /// `file:line:column: severity: message`, then the hint on its own line.
  public var description: String {
    var text = location.map { "\($0): " } ?? ""
    text += "\(severity.rawValue): \(message)"
    if let hint { text += "\n  hint: \(hint)" }
    return text
  }
}

/// Thrown when input has at least one error-severity diagnostic; carries all of them.
public struct DiagnosticsError: Error, Sendable, CustomStringConvertible {
  public var diagnostics: [Diagnostic]
  public init(_ diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }
  public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

extension Array where Element == Diagnostic {
  public var hasErrors: Bool { contains { $0.severity == .error } }
}
