import AnimaCore
import Foundation

/// A value with the label of everything it was made from.
public struct LabeledValue: Sendable, Hashable {
    public var value: JSONValue
    public var label: ProvenanceLabel

    public init(_ value: JSONValue, label: ProvenanceLabel) {
        self.value = value
        self.label = label
    }

    /// What the workflow file says itself: its owner wrote it.
    static func literal(_ value: JSONValue) -> LabeledValue { LabeledValue(value, label: .user) }
}

/// The values a step may refer to, and the resolution of `${...}` references in its fields.
///
/// A field that is exactly one reference (`"${steps.fetch.output.body}"`) takes the value
/// with its JSON type; a reference inside other text is written as text. Either way the
/// result's label joins the labels of every value referred to, so an HTTP body built from a
/// web page is labelled `web` however many steps it went through.
struct RunScope: Sendable {
    var runID: String
    var inputs: LabeledValue
    /// The latest output of each step, by id.
    var steps: [String: LabeledValue] = [:]
    /// Loop variables.
    var variables: [String: LabeledValue] = [:]
    /// The idempotency key of the step being resolved.
    var stepKey: String?

    func resolve(_ template: JSONValue, step: String, field: String) throws(WorkflowError) -> LabeledValue {
        var label = ProvenanceLabel.user
        let value = try resolve(template, step: step, field: field, label: &label)
        return LabeledValue(value, label: label)
    }

    private func resolve(_ template: JSONValue, step: String, field: String, label: inout ProvenanceLabel) throws(WorkflowError)
        -> JSONValue
    {
        switch template {
        case .string(let s):
            guard s.contains("${") else { return template }
            let parts = try Self.split(s, step: step, field: field)
            if parts.count == 1, case .reference(let path) = parts[0] {
                let v = try lookup(path, step: step, field: field)
                label = label.joined(with: v.label)
                return v.value
            }
            var text = ""
            for part in parts {
                switch part {
                case .text(let t): text += t
                case .reference(let path):
                    let v = try lookup(path, step: step, field: field)
                    label = label.joined(with: v.label)
                    text += v.value.text
                }
            }
            return .string(text)
        case .array(let items):
            var out: [JSONValue] = []
            for (i, item) in items.enumerated() { out.append(try resolve(item, step: step, field: "\(field)[\(i)]", label: &label)) }
            return .array(out)
        case .object(let object):
            var out = JSONObject()
            for (key, value) in object { out[key] = try resolve(value, step: step, field: "\(field).\(key)", label: &label) }
            return .object(out)
        default:
            return template
        }
    }

    enum Part: Equatable {
        case text(String)
        case reference(String)
    }

    static func split(_ s: String, step: String, field: String) throws(WorkflowError) -> [Part] {
        var parts: [Part] = []
        var rest = Substring(s)
        while let open = rest.range(of: "${") {
            if open.lowerBound > rest.startIndex { parts.append(.text(String(rest[..<open.lowerBound]))) }
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else {
                throw .invalid(step: step, field: field, reason: "`${` without a closing `}`")
            }
            let path = rest[open.upperBound..<close].trimmingCharacters(in: .whitespaces)
            guard !path.isEmpty else { throw .invalid(step: step, field: field, reason: "empty reference `${}`") }
            parts.append(.reference(path))
            rest = rest[rest.index(after: close)...]
        }
        if !rest.isEmpty { parts.append(.text(String(rest))) }
        return parts
    }

    func lookup(_ path: String, step: String, field: String) throws(WorkflowError) -> LabeledValue {
        let segments = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        func fail(_ reason: String) -> WorkflowError { .invalid(step: step, field: field, reason: "reference `${\(path)}`: \(reason)") }
        var base: LabeledValue
        var rest: ArraySlice<String>
        switch segments[0] {
        case "inputs":
            base = inputs
            rest = segments.dropFirst()
        case "steps":
            guard segments.count >= 3, segments[2] == "output" else { throw fail("write steps.ID.output[.field...]") }
            guard let value = steps[segments[1]] else { throw fail("step `\(segments[1])` has not run before this one") }
            base = value
            rest = segments.dropFirst(3)
        case "run":
            guard segments.count == 2, segments[1] == "id" else { throw fail("the run offers only run.id") }
            return LabeledValue(.string(runID), label: ProvenanceLabel(.system))
        case "step":
            guard segments.count == 2, segments[1] == "key", let stepKey else { throw fail("the step offers only step.key") }
            return LabeledValue(.string(stepKey), label: ProvenanceLabel(.system))
        case let name:
            guard let value = variables[name] else { throw fail("`\(name)` is not inputs, steps, run, step or a loop variable here") }
            base = value
            rest = segments.dropFirst()
        }
        var value = base.value
        for key in rest {
            if let object = value.objectValue {
                guard let next = object[key] else { throw fail("no field `\(key)`") }
                value = next
            } else if let array = value.arrayValue, let index = Int(key) {
                guard array.indices.contains(index) else { throw fail("index \(index) is past the end (\(array.count) items)") }
                value = array[index]
            } else {
                throw fail("cannot take `\(key)` of a \(value.typeName)")
            }
        }
        return LabeledValue(value, label: base.label)
    }
}

extension ProvenanceLabel {
    /// The label as stored: sources, then `|` and the readers if restricted.
    var storedText: String {
        let sources = sources.sorted().map(\.description).joined(separator: ",")
        guard let readers else { return sources }
        return sources + "|" + readers.sorted().joined(separator: ",")
    }

    init(storedText: String) {
        let halves = storedText.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false)
        let sources = halves[0].split(separator: ",").compactMap { ProvenanceSource(String($0)) }
        let readers = halves.count == 2 ? Set(halves[1].split(separator: ",").map(String.init)) : nil
        self.init(sources: Set(sources), readers: readers)
    }
}
