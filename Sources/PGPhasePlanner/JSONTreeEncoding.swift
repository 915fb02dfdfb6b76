import Foundation
public import PGPhaseModel

extension JSONOut {
  /// The JSON tree of `value` as its `Encodable` conformance writes it, what JSONEncoder
  /// (default strategies) would serialise: rendered in `.jsonEncoderPretty` it is byte for byte
  /// JSONEncoder's `[.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]` output, at a
  /// fraction of the cost (plan.json of a thousand intents was a third of `pgphase plan`).
  /// Values JSONEncoder treats specially (floating point, Date, Data, URL, Decimal) are
  /// written by JSONEncoder itself, so they come out as it writes them.
  /// - Throws: what the value's `encode(to:)` throws, and `EncodingError.invalidValue` for a
  ///   top-level value that encodes nothing or a number JSON cannot hold, as JSONEncoder does.
  public init(encoding value: some Encodable) throws {
    let encoder = TreeEncoder(parent: nil, key: nil)
    if let leaf = try encoder.leaf(value) {
      self = leaf
      return
    }
    try value.encode(to: encoder)
    guard let result = encoder.result() else {
      throw EncodingError.invalidValue(
        value, EncodingError.Context(codingPath: [], debugDescription: "Top-level value did not encode any values."))
    }
    self = result
  }
}

/// One value being encoded: holds what its `encode(to:)` asked for (a single value, or a keyed
/// or unkeyed container's members).
private final class TreeEncoder: Encoder, SingleValueEncodingContainer {
  enum Storage {
    case none
    case value(JSONOut)
    case keyed(KeyedMembers)
    case unkeyed(UnkeyedItems)
  }

  private let parent: TreeEncoder?
  private let key: (any CodingKey)?
  var storage = Storage.none

  /// `key` is this value's key in `parent`, if any. The coding path is made from them only when
  /// someone asks for it, which encoding itself never does: an array per value was a fifth of
  /// the encoding time.
  init(parent: TreeEncoder?, key: (any CodingKey)?) {
    self.parent = parent
    self.key = key
  }

  var codingPath: [any CodingKey] {
    var path: [any CodingKey] = []
    var next: TreeEncoder? = self
    while let encoder = next {
      if let key = encoder.key { path.append(key) }
      next = encoder.parent
    }
    return path.reversed()
  }
  var userInfo: [CodingUserInfoKey: Any] { [:] }

  /// What was encoded; nil when nothing was (a nested value then writes `{}`, as JSONEncoder).
  func result() -> JSONOut? {
    switch storage {
    case .none: nil
    case .value(let v): v
    case .keyed(let members): members.finish()
    case .unkeyed(let items): items.finish()
    }
  }

  func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
    let members: KeyedMembers
    if case .keyed(let existing) = storage {
      members = existing
    } else {
      members = KeyedMembers()
      storage = .keyed(members)
    }
    return KeyedEncodingContainer(KeyedContainer<Key>(members: members, encoder: self))
  }

  func unkeyedContainer() -> any UnkeyedEncodingContainer {
    let items: UnkeyedItems
    if case .unkeyed(let existing) = storage {
      items = existing
    } else {
      items = UnkeyedItems()
      storage = .unkeyed(items)
    }
    return UnkeyedContainer(items: items, encoder: self)
  }

  func singleValueContainer() -> any SingleValueEncodingContainer { self }

  func encodeNil() { storage = .value(.null) }
  func encode(_ value: Bool) { storage = .value(.bool(value)) }
  func encode(_ value: String) { storage = .value(.string(value)) }
  func encode(_ value: Int) { storage = .value(.int(value)) }
  func encode<T: Encodable>(_ value: T) throws {
    // The value stands for this one: same place, same key.
    let inner = TreeEncoder(parent: parent, key: key)
    storage = .value(try inner.leaf(value) ?? inner.encoded(value))
  }

  /// A value without a container of its own: strings, integers and booleans directly, what
  /// JSONEncoder writes in its own way through JSONEncoder.
  func leaf<T: Encodable>(_ value: T) throws -> JSONOut? {
    if T.self == String.self { return .string(value as! String) }
    if T.self == Int.self { return .int(value as! Int) }
    if T.self == Bool.self { return .bool(value as! Bool) }
    if T.self == Int64.self || T.self == Int32.self || T.self == Int16.self || T.self == Int8.self || T.self == UInt.self
      || T.self == UInt64.self || T.self == UInt32.self || T.self == UInt16.self || T.self == UInt8.self
    {
      return .raw(String(describing: value))
    }
    if T.self == Double.self || T.self == Float.self || T.self == Date.self || T.self == Data.self || T.self == URL.self
      || T.self == Decimal.self
    {
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
      return .raw(String(decoding: try encoder.encode(value), as: UTF8.self))
    }
    return nil
  }

  /// `value` encoded into this (fresh) encoder, as a tree.
  func encoded<T: Encodable>(_ value: T) throws -> JSONOut {
    try value.encode(to: self)
    return result() ?? .object([])
  }

  /// A value nested under `key`, as a tree.
  func child<T: Encodable>(_ value: T, key: any CodingKey) throws -> JSONOut {
    let encoder = TreeEncoder(parent: self, key: key)
    return try encoder.leaf(value) ?? encoder.encoded(value)
  }
}

/// A keyed container's members, in the order encoded; a key encoded again replaces its value,
/// as in JSONEncoder. Nested containers and super encoders are filled after they are handed
/// out, so they are read when the members are finished.
private final class KeyedMembers {
  var members: [(String, JSONOut)]
  var later: [(index: Int, value: () -> JSONOut)] = []

  init() {
    members = []
    members.reserveCapacity(8)
  }

  func set(_ key: String, _ value: JSONOut) {
    if let i = members.firstIndex(where: { $0.0 == key }) {
      members[i].1 = value
      later.removeAll { $0.index == i }
    } else {
      members.append((key, value))
    }
  }

  func setLater(_ key: String, _ value: @escaping () -> JSONOut) {
    set(key, .null)
    later.append((members.firstIndex { $0.0 == key }!, value))
  }

  func finish() -> JSONOut {
    for (index, value) in later { members[index].1 = value() }
    later = []
    return .object(members)
  }
}

/// An unkeyed container's items, nested ones read when finished.
private final class UnkeyedItems {
  var items: [JSONOut] = []
  var later: [(index: Int, value: () -> JSONOut)] = []

  func append(_ value: JSONOut) { items.append(value) }

  func appendLater(_ value: @escaping () -> JSONOut) {
    later.append((items.count, value))
    items.append(.null)
  }

  func finish() -> JSONOut {
    for (index, value) in later { items[index] = value() }
    later = []
    return .array(items)
  }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
  let members: KeyedMembers
  let encoder: TreeEncoder
  var codingPath: [any CodingKey] { encoder.codingPath }

  mutating func encodeNil(forKey key: Key) { members.set(key.stringValue, .null) }
  mutating func encode(_ value: Bool, forKey key: Key) { members.set(key.stringValue, .bool(value)) }
  mutating func encode(_ value: String, forKey key: Key) { members.set(key.stringValue, .string(value)) }
  mutating func encode(_ value: Int, forKey key: Key) { members.set(key.stringValue, .int(value)) }
  mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
    members.set(key.stringValue, try encoder.child(value, key: key))
  }

  mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
    -> KeyedEncodingContainer<NestedKey>
  {
    let nested = TreeEncoder(parent: encoder, key: key)
    members.setLater(key.stringValue) { nested.result() ?? .object([]) }
    return nested.container(keyedBy: keyType)
  }

  mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
    let nested = TreeEncoder(parent: encoder, key: key)
    members.setLater(key.stringValue) { nested.result() ?? .array([]) }
    return nested.unkeyedContainer()
  }

  mutating func superEncoder() -> any Encoder { superEncoder(named: "super") }
  mutating func superEncoder(forKey key: Key) -> any Encoder { superEncoder(named: key.stringValue) }

  private func superEncoder(named name: String) -> any Encoder {
    let nested = TreeEncoder(parent: encoder, key: NamedKey(name))
    members.setLater(name) { nested.result() ?? .object([]) }
    return nested
  }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
  let items: UnkeyedItems
  let encoder: TreeEncoder
  var codingPath: [any CodingKey] { encoder.codingPath }
  var count: Int { items.items.count }

  mutating func encodeNil() { items.append(.null) }
  mutating func encode(_ value: Bool) { items.append(.bool(value)) }
  mutating func encode(_ value: String) { items.append(.string(value)) }
  mutating func encode(_ value: Int) { items.append(.int(value)) }
  mutating func encode<T: Encodable>(_ value: T) throws {
    items.append(try encoder.child(value, key: NamedKey(index: count)))
  }

  mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
    let nested = TreeEncoder(parent: encoder, key: NamedKey(index: count))
    items.appendLater { nested.result() ?? .object([]) }
    return nested.container(keyedBy: keyType)
  }

  mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
    let nested = TreeEncoder(parent: encoder, key: NamedKey(index: count))
    items.appendLater { nested.result() ?? .array([]) }
    return nested.unkeyedContainer()
  }

  mutating func superEncoder() -> any Encoder {
    let nested = TreeEncoder(parent: encoder, key: NamedKey(index: count))
    items.appendLater { nested.result() ?? .object([]) }
    return nested
  }
}

/// A coding-path entry for an array index or a super encoder.
private struct NamedKey: CodingKey {
  var stringValue: String
  var intValue: Int?
  init(_ name: String) { stringValue = name }
  init(index: Int) {
    stringValue = "Index \(index)"
    intValue = index
  }
  init?(stringValue: String) { self.stringValue = stringValue }
  init?(intValue: Int) { self.init(index: intValue) }
}
