public import PGPhaseModel
import Yams

/// Reads one intent file (YAML text) into an `Intent`. Pure: the caller reads the file.
/// All problems in the file are reported, each at the YAML node it concerns.
public enum IntentParser {
  /// Returns the intent (nil when there is any error) and every diagnostic found.
  public static func parse(yaml: String, file: String, defaultID: String) -> (intent: Intent?, diagnostics: [Diagnostic]) {
    var reader = NodeReader(file: file)
    let root: Node
    do {
      guard let node = try Yams.compose(yaml: yaml) else {
        return (
          nil,
          [
            .error(
              "the intent file is empty", at: SourceLocation(file: file, line: 1, column: 1),
              hint: "an intent needs at least `changes:`")
          ]
        )
      }
      root = node
    } catch {
      return (nil, [yamlDiagnostic(error, file: file)])
    }
    let intent = reader.readIntent(root, defaultID: defaultID)
    let diagnostics = reader.diagnostics.sorted {
      ($0.location ?? .init(file: "", line: 0, column: 0)) < ($1.location ?? .init(file: "", line: 0, column: 0))
    }
    return (diagnostics.hasErrors ? nil : intent, diagnostics)
  }

  /// The id an intent gets when it names none: its file name without `.yaml`.
  public static func defaultID(forFileName name: String) -> String {
    for suffix in [".yaml", ".yml"] where name.hasSuffix(suffix) {
      return String(name.dropLast(suffix.count))
    }
    return name
  }

  static func yamlDiagnostic(_ error: any Error, file: String) -> Diagnostic {
    func at(_ mark: Mark) -> SourceLocation { SourceLocation(file: file, line: mark.line, column: mark.column) }
    switch error {
    case YamlError.scanner(let context, let problem, let mark, _),
      YamlError.parser(let context, let problem, let mark, _),
      YamlError.composer(let context, let problem, let mark, _):
      let suffix = context.map { " (\($0.text) at line \($0.mark.line), column \($0.mark.column))" } ?? ""
      return .error("malformed YAML: \(problem)\(suffix)", at: at(mark))
    case YamlError.duplicatedKeysInMapping(let duplicates, let context):
      return .error(
        "duplicate key \(duplicates.map { "`\($0)`" }.joined(separator: ", ")) in a mapping", at: at(context.mark),
        hint: "each key may appear once; to make several changes, add several entries under `changes`")
    case YamlError.reader(let problem, _, _, _):
      return .error("unreadable YAML: \(problem)", at: SourceLocation(file: file, line: 1, column: 1))
    default:
      return .error("malformed YAML: \(error)", at: SourceLocation(file: file, line: 1, column: 1))
    }
  }
}

extension NodeReader {
  static let identifierPattern = "letters, digits, `_`, `-` and `.`"

  mutating func readIntent(_ root: Node, defaultID: String) -> Intent? {
    guard
      let fields = mapping(
        root, what: "the intent", allowed: ["id", "description", "schema", "settings", "changes"], required: ["changes"])
    else {
      return nil
    }
    var id = defaultID
    var idLocation = location(root)
    if let node = fields["id"], let value = string(node, "`id`") {
      id = value
      idLocation = location(node)
    }
    if id.isEmpty || !id.allSatisfy({ $0.isLetter || $0.isNumber || "_-.".contains($0) }) || id.hasPrefix(".") {
      error(
        "intent id `\(id)` may contain only \(Self.identifierPattern)", at: idLocation,
        hint: "the id names the plan's folder and the journal's record; keep it filesystem-safe")
    }
    let description = string(fields["description"], "`description`")
    let schema = string(fields["schema"], "`schema`")
    var settings = IntentSettings()
    if let node = fields["settings"],
      let s = mapping(node, what: "`settings`", allowed: ["lock_timeout", "backfill_batch_size"])
    {
      if let node = s["lock_timeout"] {
        settings.lockTimeout = string(node, "`settings.lock_timeout`")
        if let value = settings.lockTimeout, !Self.isDuration(value) {
          error("`settings.lock_timeout` must be a duration such as `2s` or `500ms`, found `\(value)`", at: node)
        }
      }
      settings.backfillBatchSize = int(s["backfill_batch_size"], "`settings.backfill_batch_size`")
    }
    var changes: [Change] = []
    if let node = fields["changes"] {
      if case .sequence(let sequence) = node {
        if sequence.isEmpty { error("`changes` must list at least one change", at: node) }
        for item in sequence {
          if let change = readChange(item, schema: schema) { changes.append(change) }
        }
      } else {
        error("`changes` must be a list of changes, found \(describe(node))", at: node)
      }
    }
    return Intent(
      id: id, description: description, schema: schema, settings: settings, changes: changes, file: file, location: idLocation)
  }

  /// `2s`, `500ms`, `1min`, or a bare number of milliseconds, as `SET lock_timeout` accepts.
  static func isDuration(_ text: String) -> Bool {
    let digits = text.prefix { $0.isNumber }
    guard !digits.isEmpty else { return false }
    let unit = text.dropFirst(digits.count).trimmingPrefix(" ")
    return ["", "us", "ms", "s", "min", "h", "d"].contains(String(unit))
  }

  mutating func readChange(_ node: Node, schema: String?) -> Change? {
    guard case .mapping(let mapping) = node else {
      error(
        "each change must be a mapping with one operation key, found \(describe(node))", at: node,
        hint: "for example `- add_column: {table: t, column: {name: c, type: text}}`")
      return nil
    }
    guard mapping.count == 1, let (key, body) = mapping.first.map({ ($0.key, $0.value) }) else {
      let keys = mapping.keys.compactMap { $0.scalar?.string }.map { "`\($0)`" }.joined(separator: ", ")
      error(
        "each change must have exactly one operation key, found \(mapping.count): \(keys)", at: node,
        hint: "write each operation as its own `- ` entry under `changes`")
      return nil
    }
    guard let op = key.scalar?.string else {
      error("the operation key must be a plain string", at: key)
      return nil
    }
    guard Operation.allNames.contains(op) else {
      let hint =
        Suggest.closest(to: op, in: Operation.allNames).map { "did you mean `\($0)`?" }
        ?? "operations: \(Operation.allNames.joined(separator: ", "))"
      error("unknown operation `\(op)`", at: key, hint: hint)
      return nil
    }
    var builder = ChangeReader(reader: self, schema: schema, op: op)
    let operation = builder.read(body)
    self = builder.reader
    guard let operation else { return nil }
    return Change(operation, location: location(key), fieldLocations: builder.fieldLocations)
  }
}

extension Substring {
  fileprivate func trimmingPrefix(_ prefix: String) -> Substring {
    var s = self
    while s.hasPrefix(prefix) { s = s.dropFirst(prefix.count) }
    return s
  }
}
