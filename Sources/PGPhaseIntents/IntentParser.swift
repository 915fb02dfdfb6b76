public import PGPhaseModel
public import PGPhaseYAML

/// Reads one intent file (YAML) into an `Intent`. Pure: the caller reads the file.
/// All problems in the file are reported, each at the YAML node it concerns.
public enum IntentParser {
  /// Bounds on one intent file, documented in docs/intents.md.
  public static let limits = YAMLLimits()
  /// Most changes in one intent. Each is planned, rendered and journalled on its own; a
  /// thousand is far past any reviewable change, and planning it takes milliseconds.
  public static let maxChanges = 1000
  /// Most diagnostics reported for one file; past it, one more says how many were left out.
  public static let maxDiagnostics = 100
  /// An id names the plan's folder: at most NAME_MAX bytes.
  public static let maxIDBytes = 255

  /// Returns the intent (nil when there is any error) and every diagnostic found.
  public static func parse(
    bytes: some Collection<UInt8>, file: String, defaultID: String
  ) -> (intent: Intent?, diagnostics: [Diagnostic]) {
    let (root, problems) = YAMLDocument.parse(bytes, file: file, limits: limits)
    guard let root else {
      if !problems.isEmpty { return (nil, capped(problems, file: file)) }
      return (
        nil,
        [
          .error(
            "the intent file is empty", at: SourceLocation(file: file, line: 1, column: 1),
            hint: "an intent needs at least `changes:`")
        ]
      )
    }
    var reader = YAMLReader(file: file)
    let intent = reader.readIntent(root, defaultID: defaultID)
    let diagnostics = reader.diagnostics.sorted {
      ($0.location ?? .init(file: "", line: 0, column: 0)) < ($1.location ?? .init(file: "", line: 0, column: 0))
    }
    return (diagnostics.hasErrors ? nil : intent, capped(diagnostics, file: file))
  }

  /// Parses YAML text (tests and callers that already hold a string).
  public static func parse(yaml: String, file: String, defaultID: String) -> (intent: Intent?, diagnostics: [Diagnostic]) {
    parse(bytes: Array(yaml.utf8), file: file, defaultID: defaultID)
  }

  static func capped(_ diagnostics: [Diagnostic], file: String) -> [Diagnostic] {
    guard diagnostics.count > maxDiagnostics else { return diagnostics }
    let rest = diagnostics.count - maxDiagnostics
    return Array(diagnostics.prefix(maxDiagnostics)) + [
      .error(
        "\(rest) more problem\(rest == 1 ? "" : "s") in this file not shown",
        at: diagnostics[maxDiagnostics].location ?? SourceLocation(file: file, line: 1, column: 1))
    ]
  }

  /// The id an intent gets when it names none: its file name without `.yaml`.
  public static func defaultID(forFileName name: String) -> String {
    for suffix in [".yaml", ".yml"] where name.hasSuffix(suffix) {
      return String(name.dropLast(suffix.count))
    }
    return name
  }
}

extension YAMLReader {
  static let identifierPattern = "letters, digits, `_`, `-` and `.`"

  mutating func readIntent(_ root: YAMLNode, defaultID: String) -> Intent? {
    guard
      let fields = mapping(
        root, what: "the intent", allowed: ["id", "description", "schema", "settings", "changes"], required: ["changes"])
    else {
      return nil
    }
    var id = defaultID
    var idLocation = root.location
    if let node = fields["id"], let value = string(node, "`id`") {
      id = value
      idLocation = node.location
    }
    if id.isEmpty || !id.allSatisfy({ $0.isLetter || $0.isNumber || "_-.".contains($0) }) || id.hasPrefix(".") {
      error(
        "intent id `\(Self.excerpt(id))` may contain only \(Self.identifierPattern), and may not start with `.`",
        at: idLocation, hint: "the id names the plan's folder and the journal's record; keep it filesystem-safe")
    } else if id.utf8.count > IntentParser.maxIDBytes {
      error(
        "intent id `\(Self.excerpt(id))` is \(id.utf8.count) bytes; it names the plan's folder, so it may have at most \(IntentParser.maxIDBytes)",
        at: idLocation)
    }
    let description = string(fields["description"], "`description`")
    let schema = string(fields["schema"], "`schema`")
    if let schema, let node = fields["schema"] { checkIdentifier(schema, at: node, what: "`schema`") }
    var settings = IntentSettings()
    if let node = fields["settings"],
      let s = mapping(node, what: "`settings`", allowed: ["lock_timeout", "backfill_batch_size"])
    {
      if let node = s["lock_timeout"] {
        // A bare number is milliseconds, as `SET lock_timeout` takes it.
        settings.lockTimeout =
          node.scalar?.kind == .int ? expression(node, "`settings.lock_timeout`") : string(node, "`settings.lock_timeout`")
        if let value = settings.lockTimeout, !Self.isDuration(value) {
          error(
            "`settings.lock_timeout` must be a duration such as `2s` or `500ms`, found `\(Self.excerpt(value))`", at: node)
        }
      }
      settings.backfillBatchSize = int(s["backfill_batch_size"], "`settings.backfill_batch_size`")
    }
    var changes: [Change] = []
    if let node = fields["changes"], let items = sequence(node, "`changes`", nonEmpty: false) {
      if items.isEmpty { error("`changes` must list at least one change", at: node) }
      if items.count > IntentParser.maxChanges {
        error(
          "`changes` lists \(items.count) changes; an intent may have at most \(IntentParser.maxChanges)", at: node,
          hint: "split the work into several intents; they apply in id order")
      } else {
        for item in items {
          if let change = readChange(item, schema: schema) { changes.append(change) }
        }
      }
    }
    return Intent(
      id: id, description: description, schema: schema, settings: settings, changes: changes, file: file, location: idLocation)
  }

  /// `2s`, `500ms`, `1min`, or a bare number of milliseconds, as `SET lock_timeout` accepts.
  static func isDuration(_ text: String) -> Bool {
    let digits = text.prefix { $0.isASCII && $0.isNumber }
    guard !digits.isEmpty else { return false }
    var unit = text.dropFirst(digits.count)
    while unit.hasPrefix(" ") { unit = unit.dropFirst() }
    return ["", "us", "ms", "s", "min", "h", "d"].contains(String(unit))
  }

  /// PostgreSQL truncates names to 63 bytes, silently: a longer name in an intent would plan
  /// one object and create (or look up) another.
  mutating func checkIdentifier(_ text: String, at node: YAMLNode, what: String) {
    if text.utf8.count > SQL.maxIdentifierBytes {
      error(
        "\(what) is \(text.utf8.count) bytes long; PostgreSQL truncates names to \(SQL.maxIdentifierBytes) bytes, so it would name another object",
        at: node, hint: "shorten `\(Self.excerpt(text))`")
    }
  }

  mutating func readChange(_ node: YAMLNode, schema: String?) -> Change? {
    guard case .mapping(let entries) = node.content else {
      error(
        "each change must be a mapping with one operation key, found \(Self.describe(node))", at: node,
        hint: "for example `- add_column: {table: t, column: {name: c, type: text}}`")
      return nil
    }
    guard entries.count == 1, let entry = entries.first else {
      let keys = entries.compactMap { $0.key.scalar?.text }.map { "`\(Self.excerpt($0))`" }.joined(separator: ", ")
      error(
        "each change must have exactly one operation key, found \(entries.count)\(keys.isEmpty ? "" : ": \(keys)")", at: node,
        hint: "write each operation as its own `- ` entry under `changes`")
      return nil
    }
    guard let op = entry.key.scalar?.text else {
      error("the operation key must be a plain name", at: entry.key)
      return nil
    }
    guard Operation.allNames.contains(op) else {
      let hint =
        Suggest.closest(to: op, in: Operation.allNames).map { "did you mean `\($0)`?" }
        ?? "operations: \(Operation.allNames.joined(separator: ", "))"
      error("unknown operation `\(Self.excerpt(op))`", at: entry.key, hint: hint)
      return nil
    }
    var builder = ChangeReader(reader: self, schema: schema, op: op)
    let operation = builder.read(entry.value)
    self = builder.reader
    guard let operation else { return nil }
    return Change(operation, location: entry.key.location, fieldLocations: builder.fieldLocations)
  }
}
