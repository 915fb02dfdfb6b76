public import PGPhaseModel

/// The text of one SQL file with what is needed to turn offsets into 1-based line and column.
/// Every position PGPhaseSQL hands out is a UTF-8 byte offset into `text`; this type is the one
/// place that turns it into a `SourceLocation`.
/// libpg_query reports statement and clause offsets in UTF-8 bytes and error positions in
/// characters; columns we print count characters (Unicode scalars), so a `café` earlier on the
/// line moves the column by 4, not 5.
public struct SQLSource: Sendable {
  public var file: String
  public var text: String
  /// The UTF-8 bytes of `text`, which libpg_query's offsets index.
  package let bytes: [UInt8]
  /// Byte offset of the start of each line.
  package let lineStarts: [Int]

  /// Reads `text` as the contents of `file` (the name only appears in locations).
  public init(file: String, text: String) {
    self.file = file
    self.text = text
    self.bytes = Array(text.utf8)
    var starts = [0]
    for (i, b) in bytes.enumerated() where b == 0x0A { starts.append(i + 1) }
    self.lineStarts = starts
  }

  /// 1-based line of a byte offset.
  package func line(ofByte offset: Int) -> Int {
    var lo = 0
    var hi = lineStarts.count - 1
    while lo < hi {
      let mid = (lo + hi + 1) / 2
      if lineStarts[mid] <= offset { lo = mid } else { hi = mid - 1 }
    }
    return lo + 1
  }

  /// The location of a UTF-8 byte offset.
  public func location(ofByte offset: Int) -> SourceLocation {
    let offset = max(0, min(offset, bytes.count))
    let line = line(ofByte: offset)
    var column = 1
    var i = lineStarts[line - 1]
    while i < offset {
      // Count scalars: skip UTF-8 continuation bytes.
      if bytes[i] & 0xC0 != 0x80 { column += 1 }
      i += 1
    }
    // An offset inside a multi-byte scalar counted its lead byte; that's the scalar's own column.
    if offset < bytes.count, bytes[offset] & 0xC0 == 0x80 { column -= 1 }
    return SourceLocation(file: file, line: line, column: column)
  }

  /// The byte offset of a 0-based character (Unicode scalar) offset.
  package func byteOffset(ofCharacter characters: Int) -> Int {
    var seen = 0
    var i = 0
    while i < bytes.count {
      if bytes[i] & 0xC0 != 0x80 {
        if seen == characters { return i }
        seen += 1
      }
      i += 1
    }
    return bytes.count
  }

  /// Text of a byte range.
  package func text(_ range: Range<Int>) -> String {
    let r = max(0, range.lowerBound)..<min(bytes.count, range.upperBound)
    return String(decoding: bytes[r], as: UTF8.self)
  }

  /// The first byte at or after `offset` that is not whitespace or inside a comment.
  package func skipTrivia(from offset: Int, to end: Int) -> Int {
    var i = offset
    while i < end {
      let b = bytes[i]
      if b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == 0x0C {
        i += 1
      } else if b == UInt8(ascii: "-"), i + 1 < end, bytes[i + 1] == UInt8(ascii: "-") {
        while i < end, bytes[i] != 0x0A { i += 1 }
      } else if b == UInt8(ascii: "/"), i + 1 < end, bytes[i + 1] == UInt8(ascii: "*") {
        // Block comments nest in PostgreSQL.
        var depth = 0
        while i < end {
          if bytes[i] == UInt8(ascii: "/"), i + 1 < end, bytes[i + 1] == UInt8(ascii: "*") {
            depth += 1
            i += 2
          } else if bytes[i] == UInt8(ascii: "*"), i + 1 < end, bytes[i + 1] == UInt8(ascii: "/") {
            depth -= 1
            i += 2
            if depth == 0 { break }
          } else {
            i += 1
          }
        }
      } else {
        break
      }
    }
    return i
  }
}
