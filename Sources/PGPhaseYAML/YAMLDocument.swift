public import PGPhaseModel
import Yams

/// Bounds on one YAML input file. Intents and configs are small hand-written files; the bounds
/// keep a pasted or generated monster from taking minutes and gigabytes to refuse.
public struct YAMLLimits: Sendable, Equatable {
  /// Largest file read, in bytes. 1 MiB is hundreds of times a large intent.
  public var maxBytes: Int
  /// Most nodes in the composed document, counting each use of an alias (a "billion laughs"
  /// document of a few hundred bytes expands to millions).
  public var maxNodes: Int

  public init(maxBytes: Int = 1 << 20, maxNodes: Int = 250_000) {
    self.maxBytes = maxBytes
    self.maxNodes = maxNodes
  }

  public static let `default` = YAMLLimits()
}

/// Reads one YAML file into a located `YAMLNode` tree. Pure: the caller reads the bytes.
///
/// Refused, each at its line and column: bytes that are not UTF-8, NUL and other control
/// characters (also when written as escapes: PostgreSQL cannot store NUL in text), malformed
/// YAML, explicit tags (`!!binary`, `!custom`: pgphase has no use for them and would otherwise
/// take the tagged text as if untagged), files over `limits.maxBytes` and documents that expand
/// past `limits.maxNodes`.
public enum YAMLDocument {
  /// The document's root (nil when the file holds no document, or has an error) and every
  /// diagnostic found.
  public static func parse(
    _ bytes: some Collection<UInt8>, file: String, limits: YAMLLimits = .default
  ) -> (root: YAMLNode?, diagnostics: [Diagnostic]) {
    let start = SourceLocation(file: file, line: 1, column: 1)
    if bytes.count > limits.maxBytes {
      return (
        nil,
        [
          .error(
            "the file is \(bytes.count) bytes; pgphase reads YAML files of at most \(limits.maxBytes) bytes", at: start,
            hint: "split it into several smaller files")
        ]
      )
    }
    if let problem = TextCheck.firstProblem(in: bytes, file: file) { return (nil, [problem]) }
    let text = String(decoding: bytes, as: UTF8.self)
    let node: Node?
    do {
      // UTF-8 said outright: Yams' default asks the environment (all of it, copied) every time.
      node = try Yams.compose(yaml: text, Converter.resolver, .default, .utf8)
    } catch {
      return (nil, [diagnostic(for: error, file: file)])
    }
    guard let node else { return (nil, []) }
    var converter = Converter(file: file, budget: limits.maxNodes)
    let root = converter.convert(node)
    return (converter.diagnostics.hasErrors ? nil : root, converter.diagnostics)
  }

  /// Keys written more than once in one mapping (sorted), at the first one's first place.
  static func duplicateKeys(_ names: [String], at location: SourceLocation) -> Diagnostic {
    .error(
      "duplicate key \(names.map { "`\(YAMLReader.excerpt($0))`" }.joined(separator: ", ")) in a mapping", at: location,
      hint: "each key may appear once in a mapping")
  }

  static func diagnostic(for error: any Error, file: String) -> Diagnostic {
    func at(_ mark: Mark) -> SourceLocation { SourceLocation(file: file, line: mark.line, column: mark.column) }
    switch error {
    case YamlError.scanner(let context, let problem, let mark, _),
      YamlError.parser(let context, let problem, let mark, _),
      YamlError.composer(let context, let problem, let mark, _):
      if problem.hasPrefix("Maximum nesting level reached") {
        return .error(
          "malformed YAML: nested more than 1000 levels deep", at: at(mark),
          hint: "intents and configs need only a few levels of nesting")
      }
      let suffix = context.map { " (\($0.text) at line \($0.mark.line), column \($0.mark.column))" } ?? ""
      return .error("malformed YAML: \(problem)\(suffix)", at: at(mark))
    case YamlError.duplicatedKeysInMapping(let duplicates, let context):
      return duplicateKeys(duplicates, at: at(context.mark))
    case YamlError.reader(let problem, _, _, _):
      return .error("unreadable YAML: \(problem)", at: SourceLocation(file: file, line: 1, column: 1))
    default:
      return .error("malformed YAML: \(error)", at: SourceLocation(file: file, line: 1, column: 1))
    }
  }
}

/// Turns the Yams tree into `YAMLNode`s, checking tags and NUL characters and counting nodes.
struct Converter {
  let file: String
  var budget: Int
  var diagnostics: [Diagnostic] = []
  private var exhausted = false

  init(file: String, budget: Int) {
    self.file = file
    self.budget = budget
  }

  static let stringTag = Tag.Name.str.rawValue

  /// What Yams gives a scalar written without a tag, when it resolves one: only mapping keys
  /// are resolved while composing (to find duplicates), and Yams' default resolver tried up to
  /// seven regular expressions on each key, a seventh of `pgphase plan`'s time. Types are
  /// resolved here (`kind(of:)`), so Yams only needs to tell a written tag from none: one rule,
  /// matching anything, marks "none". Duplicate keys are then keys of the same text.
  static let untaggedTag = Tag.Name(rawValue: "tag:pgphase,2026:untagged")
  static let resolver = Resolver.basic.appending(try! Resolver.Rule(untaggedTag, "^"))

  func location(_ mark: Mark?) -> SourceLocation {
    SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
  }

  mutating func convert(_ node: Node) -> YAMLNode {
    let here = location(node.mark)
    budget -= 1
    if budget < 0 {
      if !exhausted {
        exhausted = true
        diagnostics.append(
          .error(
            "the document has too many nodes (counting each use of an alias); stopped reading here", at: here,
            hint: "an intent or config of this size is almost certainly not hand-written; split it"))
      }
      return YAMLNode(.scalar(YAMLScalar(text: "", kind: .null, isQuoted: false)), at: here)
    }
    switch node {
    case .scalar(let scalar):
      return YAMLNode(.scalar(convert(scalar, at: here)), at: here)
    case .sequence(let sequence):
      checkCollectionTag(sequence.tag.description, default: Tag.Name.seq.rawValue, at: here)
      var items: [YAMLNode] = []
      items.reserveCapacity(sequence.count)
      for item in sequence where !exhausted { items.append(convert(item)) }
      return YAMLNode(.sequence(items), at: here)
    case .mapping(let mapping):
      checkCollectionTag(mapping.tag.description, default: Tag.Name.map.rawValue, at: here)
      var entries: [YAMLEntry] = []
      entries.reserveCapacity(mapping.count)
      var first: [String: SourceLocation] = [:]
      var duplicated: Set<String> = []
      for (key, value) in mapping where !exhausted {
        let entry = YAMLEntry(key: convert(key), value: convert(value))
        if let name = entry.key.scalar?.text {
          if first[name] == nil { first[name] = entry.key.location } else { duplicated.insert(name) }
        }
        entries.append(entry)
      }
      // Yams finds keys of the same text and tag; keys are matched by text (`name` and "name"
      // are one key), so the same text is a duplicate whatever the quoting.
      if !duplicated.isEmpty {
        let names = duplicated.sorted()
        diagnostics.append(YAMLDocument.duplicateKeys(names, at: first[names[0]]!))
      }
      return YAMLNode(.mapping(entries), at: here)
    case .alias:
      // Yams resolves aliases while composing; kept for completeness.
      return YAMLNode(.scalar(YAMLScalar(text: "", kind: .null, isQuoted: false)), at: here)
    }
  }

  private mutating func convert(_ scalar: Node.Scalar, at here: SourceLocation) -> YAMLScalar {
    // Read the tag as written before anything resolves it (Yams resolves lazily, in place).
    let written = scalar.tag.description
    let quoted = scalar.style != .plain && scalar.style != .any
    let kind = quoted ? YAMLScalar.Kind.string : Self.kind(of: scalar.string)
    // Yams resolves the tags of mapping keys (and of what a key holds) while checking them for
    // duplicates: an untagged one then has `untaggedTag`.
    let implicit = written.isEmpty || written == Self.untaggedTag.rawValue || (quoted && written == Self.stringTag)
    if !implicit {
      diagnostics.append(
        .error(
          "explicit YAML tag `\(Self.shorthand(written))` is not supported", at: here,
          hint: "write the value without a tag; quote it to make it a string"))
    }
    if scalar.string.utf8.contains(0) {
      diagnostics.append(
        .error(
          "the value contains a NUL character (written as an escape); PostgreSQL cannot store NUL in text", at: here))
    }
    return YAMLScalar(text: scalar.string, kind: kind, isQuoted: quoted)
  }

  private mutating func checkCollectionTag(_ written: String, default name: String, at here: SourceLocation) {
    guard !written.isEmpty, written != name else { return }
    diagnostics.append(
      .error(
        "explicit YAML tag `\(Self.shorthand(written))` is not supported", at: here, hint: "write the value without a tag"))
  }

  /// `tag:yaml.org,2002:binary` as the user wrote it: `!!binary`.
  static func shorthand(_ tag: String) -> String {
    let prefix = "tag:yaml.org,2002:"
    return tag.hasPrefix(prefix) ? "!!" + tag.dropFirst(prefix.count) : tag
  }

  /// The YAML 1.1 type of a plain scalar (what PyYAML, editors and the JSON Schema see).
  static func kind(of text: String) -> YAMLScalar.Kind {
    switch ScalarType.tag(of: text) {
    case .null: .null
    case .bool: .bool
    case .int: .int
    case .float: .float
    case .timestamp: .timestamp
    default: .string
    }
  }
}

/// Finds the first byte that is not UTF-8, or the first character YAML does not allow
/// (NUL and other control characters), with its line and column (in Unicode scalars, as libyaml counts).
enum TextCheck {
  static func firstProblem(in bytes: some Collection<UInt8>, file: String) -> Diagnostic? {
    var line = 1
    var column = 1
    var iterator = bytes.makeIterator()
    var decoder = UTF8()
    var previousWasCR = false
    while true {
      switch decoder.decode(&iterator) {
      case .emptyInput:
        return nil
      case .error:
        return .error(
          "the file is not UTF-8 text: invalid byte sequence here", at: SourceLocation(file: file, line: line, column: column),
          hint: "save the file as UTF-8")
      case .scalarValue(let scalar):
        let v = scalar.value
        if v == 0x0A {
          if !previousWasCR { line += 1 }
          column = 1
          previousWasCR = false
          continue
        }
        if v == 0x0D {
          line += 1
          column = 1
          previousWasCR = true
          continue
        }
        previousWasCR = false
        if !allowed(v) {
          let name = v == 0 ? "NUL (U+0000)" : "control character U+\(String(v, radix: 16, uppercase: true).leftPadded(4))"
          return .error(
            "the file contains \(name), which YAML does not allow", at: SourceLocation(file: file, line: line, column: column),
            hint: v == 0 ? "remove it; PostgreSQL cannot store NUL in text either" : "remove it")
        }
        column += 1
      }
    }
  }

  /// YAML 1.1's printable characters (what libyaml accepts), plus tab.
  static func allowed(_ v: UInt32) -> Bool {
    switch v {
    case 0x09, 0x20...0x7E, 0x85, 0xA0...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: true
    default: false
    }
  }
}

extension String {
  fileprivate func leftPadded(_ width: Int) -> String {
    String(repeating: "0", count: Swift.max(0, width - count)) + self
  }
}
