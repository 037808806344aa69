import AnimaCore

/// How an archival passage remembers where its text came from: a tag
/// `provenance:SOURCE` for each untrusted source of the text it was saved from.
///
/// The kernel adds the tags (through `SecurityMonitor`) when a process saves a passage (dropping any such tags the
/// model wrote itself) and reads them back from search results, so text that came from
/// a web page last week is labelled `memory` *and* `web` when it returns. The tags can
/// only add untrusted sources: memory is never trusted, whatever a tag says.
public enum MemoryProvenance {
    public static let prefix = "provenance:"

    /// `arguments` of an `archival_insert` with the provenance tags of `label`.
    public static func tagging(_ arguments: JSONValue, with label: ProvenanceLabel) -> JSONValue {
        guard case .object(var object) = arguments else { return arguments }
        var tags = (object["tags"]?.arrayValue ?? []).filter { !($0.stringValue ?? "").hasPrefix(prefix) }
        tags += label.untrustedSources.sorted().map { .string(prefix + $0.description) }
        object["tags"] = tags.isEmpty ? nil : .array(tags)
        return .object(object)
    }

    /// The untrusted sources recorded on the passages of an `archival_search` result.
    public static func label(ofSearchResult result: JSONValue) -> ProvenanceLabel {
        var sources: Set<ProvenanceSource> = [.memory]
        for hit in result["results"]?.arrayValue ?? [] {
            for tag in hit["tags"]?.arrayValue ?? [] {
                guard let text = tag.stringValue, text.hasPrefix(prefix),
                    let source = ProvenanceSource(String(text.dropFirst(prefix.count))), !source.isTrusted
                else { continue }
                sources.insert(source)
            }
        }
        return ProvenanceLabel(sources: sources)
    }
}
