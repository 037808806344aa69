import AnimaCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A package as one file: a POSIX ustar archive of its directory.
///
/// Only regular files and folders are written or read. Reading refuses, before anything
/// is written: links of either kind, device files, extended headers, absolute names, `.`
/// or `..` parts, a name seen twice, a bad header checksum, and archives past the size
/// limits; so an archive cannot place a file outside the folder it is unpacked into.
public enum PackageArchive {
    /// Writes `directory` (regular files and folders only) as a ustar archive at `archive`.
    public static func create(from directory: URL, to archive: URL) throws(StoreError) {
        let files = try PackageFiles.list(directory)
        guard FileManager.default.createFile(atPath: archive.path, contents: nil),
            let out = FileHandle(forWritingAtPath: archive.path)
        else { throw .archive("cannot create \(archive.path)") }
        defer { try? out.close() }
        do {
            for name in files.keys.sorted() {
                let size = files[name]!.size
                try out.write(contentsOf: try header(name: name, size: size))
                guard let input = FileHandle(forReadingAtPath: directory.path + "/" + name) else {
                    throw StoreError.unreadable(path: name, reason: "cannot open")
                }
                var written: Int64 = 0
                while let chunk = try input.read(upToCount: 4 << 20), !chunk.isEmpty {
                    try out.write(contentsOf: chunk)
                    written += Int64(chunk.count)
                }
                try input.close()
                guard written == size else { throw StoreError.archive("\(name) changed while it was archived") }
                let pad = Int((512 - size % 512) % 512)
                if pad > 0 { try out.write(contentsOf: Data(count: pad)) }
            }
            try out.write(contentsOf: Data(count: 1024))
            try out.synchronize()
        } catch let error as StoreError {
            throw error
        } catch {
            throw .archive("cannot write \(archive.path): \(error)")
        }
    }

    static func header(name: String, size: Int64, type: UInt8 = UInt8(ascii: "0")) throws(StoreError) -> Data {
        var h = [UInt8](repeating: 0, count: 512)
        var nameBytes = Array(name.utf8)
        var prefix: [UInt8] = []
        if nameBytes.count > 100 {
            // Split at a '/' so the prefix (≤155) and name (≤100) both fit.
            guard
                let cut = nameBytes.indices.last(where: {
                    nameBytes[$0] == UInt8(ascii: "/") && $0 <= 155 && nameBytes.count - $0 - 1 <= 100
                })
            else { throw .archive("the file name \(name) is too long for an archive") }
            prefix = Array(nameBytes[..<cut])
            nameBytes = Array(nameBytes[(cut + 1)...])
        }
        func put(_ bytes: [UInt8], at offset: Int) { for (i, b) in bytes.enumerated() { h[offset + i] = b } }
        func octal(_ value: Int64, width: Int) -> [UInt8] {
            Array(String(value, radix: 8).leftPadded(to: width - 1).utf8) + [0]
        }
        guard size < 0o77777777777 else { throw .archive("\(name) is larger than 8 GiB") }
        put(nameBytes, at: 0)
        put(octal(0o644, width: 8), at: 100)
        put(octal(0, width: 8), at: 108)
        put(octal(0, width: 8), at: 116)
        put(octal(size, width: 12), at: 124)
        put(octal(0, width: 12), at: 136)
        put(Array("        ".utf8), at: 148)
        h[156] = type
        put(Array("ustar".utf8) + [0], at: 257)
        put(Array("00".utf8), at: 263)
        put(prefix, at: 345)
        let sum = h.reduce(0) { $0 + Int64($1) }
        put(Array(String(sum, radix: 8).leftPadded(to: 6).utf8) + [0, 0x20], at: 148)
        return Data(h)
    }

    /// Unpacks `archive` into the new, empty folder `destination`.
    public static func extract(_ archive: URL, into destination: URL, maxBytes: Int64 = 64 << 30, maxFiles: Int = 100_000)
        throws(StoreError)
    {
        guard let input = FileHandle(forReadingAtPath: archive.path) else { throw .archive("cannot open \(archive.path)") }
        defer { try? input.close() }
        var seen = Set<String>()
        var total: Int64 = 0
        func readExactly(_ n: Int) throws(StoreError) -> Data {
            var data = Data()
            while data.count < n {
                guard let chunk = try? input.read(upToCount: n - data.count), !chunk.isEmpty else {
                    throw .archive("it ends in the middle of an entry")
                }
                data.append(chunk)
            }
            return data
        }
        while true {
            let block = [UInt8](try readExactly(512))
            if block.allSatisfy({ $0 == 0 }) { break }
            let stored = parseOctal(block[148..<156])
            var sum: Int64 = 0
            for (i, b) in block.enumerated() { sum += (148..<156).contains(i) ? 32 : Int64(b) }
            guard let stored, stored == sum else { throw .archive("a header's checksum is wrong (a damaged or forged archive)") }
            let name = cString(block[0..<100])
            let prefix = cString(block[345..<500])
            let full = prefix.isEmpty ? name : prefix + "/" + name
            let type = block[156]
            guard let size = parseOctal(block[124..<136]), size >= 0 else { throw .archive("\(full): the size field is not a number") }
            var path = full
            if type == UInt8(ascii: "5"), path.hasSuffix("/") { path.removeLast() }
            do {
                try PackageManifest.checkRelativePath(path, field: "archive entry")
            } catch {
                throw .archive("entry \"\(full)\" would be written outside the package (absolute path or ..)")
            }
            switch type {
            case UInt8(ascii: "0"), 0:
                total += size
                guard total <= maxBytes else { throw .archive("it holds more than \(maxBytes) bytes") }
                guard seen.insert(path).inserted, seen.count <= maxFiles else { throw .archive("\(path) appears twice, or too many files") }
                try makeParents(of: path, in: destination)
                let target = destination.path + "/" + path
                let fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
                guard fd >= 0 else { throw .archive("cannot create \(path): \(String(cString: strerror(errno)))") }
                var left = size
                while left > 0 {
                    let chunk = try readExactly(Int(min(left, 4 << 20)))
                    let ok = chunk.withUnsafeBytes { buf in
                        var off = 0
                        while off < buf.count {
                            let n = write(fd, buf.baseAddress! + off, buf.count - off)
                            if n <= 0 { if errno == EINTR { continue }; return false }
                            off += n
                        }
                        return true
                    }
                    guard ok else { close(fd); throw .archive("cannot write \(path): \(String(cString: strerror(errno)))") }
                    left -= Int64(chunk.count)
                }
                fsync(fd)
                close(fd)
                let pad = Int((512 - size % 512) % 512)
                if pad > 0 { _ = try readExactly(pad) }
            case UInt8(ascii: "5"):
                try makeParents(of: path + "/x", in: destination)
            case UInt8(ascii: "1"), UInt8(ascii: "2"):
                throw .archive("entry \"\(full)\" is a link; packages may hold only regular files")
            default:
                throw .archive("entry \"\(full)\" has type \(Character(Unicode.Scalar(type))); only files and folders are accepted")
            }
        }
    }

    private static func makeParents(of path: String, in destination: URL) throws(StoreError) {
        var current = destination.path
        for part in path.split(separator: "/").dropLast() {
            current += "/" + part
            var st = stat()
            if lstat(current, &st) == 0 {
                guard st.st_mode & S_IFMT == S_IFDIR else { throw .archive("\(part) is both a file and a folder") }
            } else if mkdir(current, 0o755) != 0 {
                throw .archive("cannot create folder \(part): \(String(cString: strerror(errno)))")
            }
        }
    }

    private static func cString(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes.prefix(while: { $0 != 0 }), as: UTF8.self)
    }

    private static func parseOctal(_ bytes: ArraySlice<UInt8>) -> Int64? {
        let text = String(decoding: bytes.prefix(while: { $0 != 0 }), as: UTF8.self).trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty, text.count <= 12 else { return nil }
        return Int64(text, radix: 8)
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
