import Foundation

/// A `multipart/form-data` body split into its fields: how clients upload audio.
///
/// Only what form uploads use: a boundary from the Content-Type, parts with a
/// Content-Disposition name (and perhaps a filename and Content-Type). Anything else is a
/// clear `APIError`, never a crash; sizes are bounded by the body limit before parsing.
struct MultipartForm {
    struct Part {
        var name: String
        var filename: String?
        var contentType: String?
        var body: [UInt8]
    }

    var parts: [Part]

    func field(_ name: String) -> Part? { parts.first { $0.name == name } }

    /// A text field, decoded as UTF-8.
    func text(_ name: String) -> String? { field(name).map { String(decoding: $0.body, as: UTF8.self) } }

    init(body: [UInt8], contentType: String?) throws {
        guard let contentType, contentType.lowercased().hasPrefix("multipart/form-data") else {
            throw APIError.badRequest(
                "send the audio as multipart/form-data (a form with a file field), not \(contentType ?? "no Content-Type")")
        }
        guard let boundary = Self.parameter("boundary", in: contentType), !boundary.isEmpty, boundary.utf8.count <= 200 else {
            throw APIError.badRequest("the multipart Content-Type has no boundary")
        }
        let delimiter = Array("--\(boundary)".utf8)
        var cuts = Self.occurrences(of: delimiter, in: body)
        guard cuts.count >= 2 else { throw APIError.badRequest("the multipart body has no complete part (is it cut short?)") }
        parts = []
        for (start, end) in zip(cuts, cuts.dropFirst()) {
            var from = start + delimiter.count
            if body[from...].starts(with: Array("\r\n".utf8)) { from += 2 } else { continue }
            // The part ends before the CRLF that precedes the next delimiter.
            let to = end >= 2 && body[end - 2] == 13 && body[end - 1] == 10 ? end - 2 : end
            guard from <= to else { throw APIError.badRequest("a multipart part is malformed") }
            let part = Array(body[from..<to])
            guard let split = Self.occurrences(of: Array("\r\n\r\n".utf8), in: part).first else {
                throw APIError.badRequest("a multipart part has no header end")
            }
            let headers = String(decoding: part[..<split], as: UTF8.self).components(separatedBy: "\r\n")
            var name: String?
            var filename: String?
            var type: String?
            for header in headers {
                let lower = header.lowercased()
                if lower.hasPrefix("content-disposition:") {
                    name = Self.parameter("name", in: header)
                    filename = Self.parameter("filename", in: header)
                } else if lower.hasPrefix("content-type:") {
                    type = String(header.dropFirst("content-type:".count)).trimmingCharacters(in: .whitespaces)
                }
            }
            guard let name else { throw APIError.badRequest("a multipart part has no name") }
            parts.append(Part(name: name, filename: filename, contentType: type, body: Array(part[(split + 4)...])))
        }
        cuts.removeAll()
    }

    /// `key=value` or `key="value"` from a header's `;`-separated parameters.
    static func parameter(_ key: String, in header: String) -> String? {
        for piece in header.split(separator: ";").dropFirst() {
            let pair = piece.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == key else { continue }
            var value = pair[1].trimmingCharacters(in: .whitespaces)
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            return value
        }
        return nil
    }

    /// Start offsets of `needle` in `haystack`, not overlapping.
    static func occurrences(of needle: [UInt8], in haystack: [UInt8]) -> [Int] {
        guard !needle.isEmpty, haystack.count >= needle.count else { return [] }
        var found: [Int] = []
        var i = 0
        let first = needle[0]
        let last = haystack.count - needle.count
        while i <= last {
            if haystack[i] == first, haystack[i..<i + needle.count].elementsEqual(needle) {
                found.append(i)
                i += needle.count
            } else {
                i += 1
            }
        }
        return found
    }
}
