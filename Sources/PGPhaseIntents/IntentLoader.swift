public import PGPhaseModel

/// One intent file's text, read by the caller.
public struct IntentSource: Sendable {
  public var path: String
  public var text: String

  public init(path: String, text: String) {
    self.path = path
    self.text = text
  }
}

/// Parses a set of intent files, checks that their ids are unique, and orders them by id
/// (the apply order).
public enum IntentLoader {
  public static func load(_ sources: [IntentSource]) -> (intents: [Intent], diagnostics: [Diagnostic]) {
    var intents: [Intent] = []
    var diagnostics: [Diagnostic] = []
    for source in sources {
      let fileName = source.path.split(separator: "/").last.map(String.init) ?? source.path
      let (intent, found) = IntentParser.parse(
        yaml: source.text, file: source.path, defaultID: IntentParser.defaultID(forFileName: fileName))
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
