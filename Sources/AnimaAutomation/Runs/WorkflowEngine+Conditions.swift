import AnimaCore
import Foundation
import Metrics

extension WorkflowEngine {
    func evaluate(_ condition: WorkflowCondition, scope: RunScope, step: String) throws(WorkflowError) -> Bool {
        switch condition {
        case .truthy(let v): return Self.truthy(try scope.resolve(v, step: step, field: "if").value)
        case .not(let c): return !(try evaluate(c, scope: scope, step: step))
        case .all(let cs):
            for c in cs where !(try evaluate(c, scope: scope, step: step)) { return false }
            return true
        case .any(let cs):
            for c in cs where try evaluate(c, scope: scope, step: step) { return true }
            return false
        case .compare(let op, let l, let r):
            let a = try scope.resolve(l, step: step, field: "if.\(op)[0]").value
            let b = try scope.resolve(r, step: step, field: "if.\(op)[1]").value
            switch op {
            case "eq": return a == b
            case "ne": return a != b
            case "contains":
                if let s = a.stringValue, let t = b.stringValue { return s.contains(t) }
                if let items = a.arrayValue { return items.contains(b) }
                if let o = a.objectValue, let k = b.stringValue { return o[k] != nil }
                return false
            default:
                let ordered: Bool? =
                    if let x = a.numberValue, let y = b.numberValue {
                        op == "lt" ? x < y : op == "le" ? x <= y : op == "gt" ? x > y : x >= y
                    } else if let x = a.stringValue, let y = b.stringValue {
                        op == "lt" ? x < y : op == "le" ? x <= y : op == "gt" ? x > y : x >= y
                    } else { nil }
                guard let ordered else {
                    throw .invalid(step: step, field: "if.\(op)", reason: "cannot compare a \(a.typeName) with a \(b.typeName)")
                }
                return ordered
            }
        }
    }

    static func truthy(_ v: JSONValue) -> Bool {
        switch v {
        case .null: false
        case .bool(let b): b
        case .number(let n): n != 0
        case .string(let s): !s.isEmpty && s != "false"
        case .array(let a): !a.isEmpty
        case .object(let o): !o.isEmpty
        }
    }
}

extension Duration {
    var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}
