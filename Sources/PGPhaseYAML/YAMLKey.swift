/// One key of a settings mapping: its name and how its value is read into `Root`. A settings
/// section is a list of these, so adding a setting is one declaration:
///
///     .bool("transactional_files", \.transactionalFiles)
public struct YAMLKey<Root> {
  public let name: String
  let read: (inout YAMLReader, YAMLNode, inout Root, String) -> Void

  /// A key read by custom code; `path` is the dotted key for messages (`rollout.notify`).
  public init(
    _ name: String, read: @escaping (_ reader: inout YAMLReader, _ value: YAMLNode, _ root: inout Root, _ path: String) -> Void
  ) {
    self.name = name
    self.read = read
  }

  public static func string(_ name: String, _ field: WritableKeyPath<Root, String?>) -> Self {
    Self(name) { reader, node, root, path in
      if let value = reader.string(node, "`\(path)`") { root[keyPath: field] = value }
    }
  }

  public static func bool(_ name: String, _ field: WritableKeyPath<Root, Bool?>) -> Self {
    Self(name) { reader, node, root, path in
      if let value = reader.bool(node, "`\(path)`") { root[keyPath: field] = value }
    }
  }

  public static func int(_ name: String, _ field: WritableKeyPath<Root, Int?>, in range: ClosedRange<Int>) -> Self {
    Self(name) { reader, node, root, path in
      guard let value = reader.int(node, "`\(path)`", minimum: range.lowerBound) else { return }
      guard range.contains(value) else {
        reader.error("`\(path)` must be between \(range.lowerBound) and \(range.upperBound), found \(value)", at: node)
        return
      }
      root[keyPath: field] = value
    }
  }

  public static func strings(_ name: String, _ field: WritableKeyPath<Root, [String]>) -> Self {
    Self(name) { reader, node, root, path in
      guard let items = reader.sequence(node, "`\(path)`", nonEmpty: false) else { return }
      var values: [String] = []
      for item in items { if let s = reader.string(item, "each item of `\(path)`") { values.append(s) } }
      root[keyPath: field] = values
    }
  }

  /// The same key, reading into a part of a larger value (settings kept at the top level of a
  /// file, stored in a section of their own).
  public func scoped<Outer>(to field: WritableKeyPath<Outer, Root>) -> YAMLKey<Outer> {
    let read = self.read
    return YAMLKey<Outer>(name) { reader, node, outer, path in read(&reader, node, &outer[keyPath: field], path) }
  }

  /// A nested mapping of its own keys.
  public static func section<Section>(_ name: String, _ field: WritableKeyPath<Root, Section>, keys: [YAMLKey<Section>])
    -> Self
  {
    Self(name) { reader, node, root, path in
      reader.read(node, into: &root[keyPath: field], keys: keys, path: path)
    }
  }
}

extension YAMLReader {
  /// Reads a settings mapping: every known key through its declaration, every unknown one an
  /// error at the key with a did-you-mean. `path` names the mapping in messages (empty at the
  /// top of a file).
  public mutating func read<Root>(_ node: YAMLNode, into root: inout Root, keys: [YAMLKey<Root>], path: String = "") {
    let what = path.isEmpty ? "the file" : "`\(path)`"
    guard let fields = mapping(node, what: what, allowed: keys.map(\.name)) else { return }
    for key in keys {
      guard let value = fields[key.name] else { continue }
      key.read(&self, value, &root, path.isEmpty ? key.name : "\(path).\(key.name)")
    }
  }
}
