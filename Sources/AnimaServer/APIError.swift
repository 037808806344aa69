import AnimaCore
import AnimaKernel
import AnimaProcessor
import Hummingbird

/// An error as the API returns it: an HTTP status and OpenAI's error object
/// (`{"error": {"message", "type", "param", "code"}}`), on every route.
public struct APIError: Error, Sendable {
    public var status: HTTPResponse.Status
    public var message: String
    public var type: String
    public var param: String?
    public var code: String?
    /// Extra headers, such as Retry-After.
    public var headers: HTTPFields = [:]

    public init(
        _ status: HTTPResponse.Status, _ message: String, type: String = "invalid_request_error", param: String? = nil, code: String? = nil
    ) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
    }

    static func badRequest(_ message: String, param: String? = nil) -> APIError { APIError(.badRequest, message, param: param) }

    var json: JSONValue {
        [
            "error": [
                "message": .string(message), "type": .string(type), "param": param.map(JSONValue.string) ?? .null,
                "code": code.map(JSONValue.string) ?? .null,
            ]
        ]
    }

    var response: Response {
        var response = Response.json(json, status: status)
        response.headers.append(contentsOf: headers)
        return response
    }

    /// The API's view of an error from below.
    static func from(_ error: any Error) -> APIError {
        switch error {
        case let e as APIError: return e
        case let e as ProcessorError:
            switch e {
            case .promptTooLong, .invalidRequest, .invalidSchema, .unsupportedChatTemplate, .missingChatTemplate:
                return APIError(.badRequest, e.description, code: e.code)
            case .modelNotFound, .invalidModelFile:
                return APIError(.notFound, e.description, code: "model_not_found")
            case .engineFailure, .shutDown:
                return APIError(.serviceUnavailable, e.description, type: "server_error")
            }
        case let e as SyscallError:
            switch e {
            case .permissionDenied: return APIError(.forbidden, e.description, type: "permission_error")
            case .noSuchProcess, .unknownTool: return APIError(.notFound, e.description, code: "not_found")
            case .invalidArguments: return APIError(.badRequest, e.description)
            case .quotaExceeded: return APIError(.tooManyRequests, e.description, type: "quota_exceeded")
            case .processExited: return APIError(.gone, e.description)
            case .timedOut: return APIError(.gatewayTimeout, e.description, type: "server_error")
            case .failed: return APIError(.internalServerError, e.description, type: "server_error")
            case .noModel: return APIError(.serviceUnavailable, e.description, type: "server_error")
            }
        case let e as RouterError:
            switch e {
            case .noProcessor(_, let staysLocal) where staysLocal:
                // Typically a private request pinned to a remote model: refused, never sent.
                return APIError(.forbidden, e.description, type: "permission_error", code: "private_data_stays_local")
            case .noProcessor: return APIError(.badRequest, e.description, code: "no_processor")
            case .allFailed: return APIError(.badGateway, e.description, type: "server_error", code: "processors_failed")
            case .privacyViolation, .unknownDecision, .invalidConfiguration:
                return APIError(.internalServerError, e.description, type: "server_error")
            }
        case let e as AudioError:
            switch e {
            case .noSpeechModel: return APIError(.serviceUnavailable, e.description, type: "server_error", code: e.apiCode)
            case .engineFailure: return APIError(.internalServerError, e.description, type: "server_error", code: e.apiCode)
            default: return APIError(.badRequest, e.description, code: e.apiCode)
            }
        case let e as JSONParseError: return APIError(.badRequest, "the body is not JSON: \(e)")
        case let e as JSONSchemaError: return APIError(.badRequest, e.description)
        case let e as WireNumberError: return APIError(.badRequest, e.description, param: e.field, code: "invalid_number")
        case let e as HTTPError: return APIError(e.status, e.body ?? "\(e.status)")
        default: return APIError(.internalServerError, "\(error)", type: "server_error")
        }
    }
}

extension ProcessorError {
    var code: String? {
        switch self {
        case .promptTooLong: "context_length_exceeded"
        case .invalidSchema: "invalid_schema"
        default: nil
        }
    }
}

extension Response {
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: value.jsonText)))
    }
}
