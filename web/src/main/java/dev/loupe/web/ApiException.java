package dev.loupe.web;

/**
 * A request the server refuses, with the HTTP status and the {@code {"error": {"message", "type"}}} body it
 * answers with. {@code type} follows OpenAI's names ({@code invalid_request_error}, {@code not_found_error},
 * {@code rate_limit_error}, ...) so the same body serves both the Loupe API and {@code /v1}.
 */
public final class ApiException extends RuntimeException {
    private final int status;
    private final String type;
    private final String param;
    private final int retryAfterSeconds;

    private ApiException(int status, String type, String message, String param, int retryAfterSeconds) {
        super(message, null, false, false);
        this.status = status;
        this.type = type;
        this.param = param;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    /** 400: the request names something wrong; {@code param} is the field at fault, or null. */
    public static ApiException badRequest(String message, String param) {
        return new ApiException(400, "invalid_request_error", message, param, 0);
    }

    public static ApiException badRequest(String message) { return badRequest(message, null); }

    /** 403: a request the server will not serve to this caller (a foreign {@code Host}: DNS rebinding). */
    public static ApiException forbidden(String message) { return new ApiException(403, "permission_error", message, null, 0); }

    /** 404: an unknown feature, page or route. */
    public static ApiException notFound(String message) { return new ApiException(404, "not_found_error", message, null, 0); }

    /** 405: the route exists, the method does not. */
    public static ApiException methodNotAllowed(String message) { return new ApiException(405, "invalid_request_error", message, null, 0); }

    /** 408: the request's work ran past the server's per-request limit. */
    public static ApiException timeout(String message) { return new ApiException(408, "timeout_error", message, null, 0); }

    /** 413: a body, prompt or generation longer than the server's limits. */
    public static ApiException tooLarge(String message, String param) {
        return new ApiException(413, "invalid_request_error", message, param, 0);
    }

    /** 415: a body that is not JSON. */
    public static ApiException unsupportedMediaType(String message) {
        return new ApiException(415, "invalid_request_error", message, null, 0);
    }

    /** 429: the work queue is full; the client should retry after {@code retryAfterSeconds}. */
    public static ApiException busy(String message, int retryAfterSeconds) {
        return new ApiException(429, "rate_limit_error", message, null, retryAfterSeconds);
    }

    /** 404: a live endpoint on a server started without a model and SAE (the route is not served in that mode). */
    public static ApiException notAvailable(String message) { return new ApiException(404, "not_found_error", message, null, 0); }

    public int status() { return status; }

    public String type() { return type; }

    public String param() { return param; }

    /** Seconds for the {@code Retry-After} header, or 0 for none. */
    public int retryAfterSeconds() { return retryAfterSeconds; }
}
