public import PGPhaseModel

/// One intent file's bytes, read by the caller. Bytes rather than text, so that a file that is
/// not UTF-8 is refused at the line and column of its first bad byte.
public struct IntentSource: Sendable {
  public var path: String
  public var bytes: [UInt8]

  public init(path: String, bytes: [UInt8]) {
    self.path = path
    self.bytes = bytes
  }

  public init(path: String, text: String) {
    self.init(path: path, bytes: Array(text.utf8))
  }
}

/// Parses a set of intent files, checks that their ids are unique, and orders them by id
/// (the apply order).
public enum IntentLoader {
  public static func load(_ sources: [IntentSource]) -> (intents: [Intent], diagnostics: [Diagnostic]) {
    var intents: [Intent] = []
    var diagnostics: [Diagnostic] = []
    // Each file parses on its own: on every core, results (and diagnostics) in the files' order.
    let parsed = Parallel.map(sources) { source in
      let fileName = source.path.split(separator: "/").last.map(String.init) ?? source.path
      return IntentParser.parse(
        bytes: source.bytes, file: source.path, defaultID: IntentParser.defaultID(forFileName: fileName))
    }
    for (intent, found) in parsed {
      diagnostics += found
      if let intent { intents.append(intent) }
    }
    var firstByID: [String: Intent] = [:]
    for intent in intents {
      if let first = firstByID[intent.id] {
        diagnostics.append(
          .error(
            "duplicate intent id `\(intent.id)`, also used by \(first.location)", at: intent.location,
            hint: "ids must be unique; they order the intents and name their plans and journal records"))
      } else {
        firstByID[intent.id] = intent
      }
    }
    return (intents.sorted { $0.id < $1.id }, diagnostics)
  }
}
