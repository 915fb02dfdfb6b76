public import PGPhaseModel

/// One node of a YAML document, with where it was written. Plain values: the Yams tree they
/// come from is not kept, so every later stage reads located, already-checked data.
public struct YAMLNode: Sendable {
  public enum Content: Sendable {
    case scalar(YAMLScalar)
    case sequence([YAMLNode])
    case mapping([YAMLEntry])
  }

  public var content: Content
  public var location: SourceLocation

  public init(_ content: Content, at location: SourceLocation) {
    self.content = content
    self.location = location
  }

  /// The scalar, if this node is one.
  public var scalar: YAMLScalar? {
    if case .scalar(let s) = content { return s }
    return nil
  }

  /// A YAML null written in plain style (`~`, `null`, or nothing at all).
  public var isNull: Bool { scalar?.kind == .null }
}

/// A scalar as written, with the type YAML's core schema gives it, so a reader can refuse a
/// `False` where a name is required instead of taking the word as text.
public struct YAMLScalar: Sendable, Hashable {
  /// What a YAML 1.1 reader (PyYAML, editors, JSON Schema validators) takes the scalar to be.
  /// Quoted and block scalars are always strings.
  public enum Kind: String, Sendable {
    case string, int, float, bool, null, timestamp
  }

  public var text: String
  public var kind: Kind
  /// Written quoted (`'…'`, `"…"`) or as a block (`|`, `>`).
  public var isQuoted: Bool

  public init(text: String, kind: Kind, isQuoted: Bool) {
    self.text = text
    self.kind = kind
    self.isQuoted = isQuoted
  }
}

/// One `key: value` pair of a mapping, in the order written.
public struct YAMLEntry: Sendable {
  public var key: YAMLNode
  public var value: YAMLNode

  public init(key: YAMLNode, value: YAMLNode) {
    self.key = key
    self.value = value
  }
}
