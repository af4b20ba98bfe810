package dev.loupe.web;

import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Jetty's own errors (a URI it rejects before any route sees it, such as an encoded {@code ..} or a bad
 * escape; headers too large) in the API's JSON shape instead of Jetty's HTML page, without stack traces.
 */
final class JsonErrorHandler extends ErrorHandler {
    @Override
    protected void generateResponse(Request request, Response response, int code, String message, Throwable cause, Callback callback) {
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.write(true, ByteBuffer.wrap(body(code, message)), callback);
    }

    @Override
    public ByteBuffer badMessageError(int status, String reason, HttpFields.Mutable fields) {
        fields.put(HttpHeader.CONTENT_TYPE, "application/json");
        return ByteBuffer.wrap(body(status, reason));
    }

    private static byte[] body(int code, String message) {
        // A 5xx message from Jetty may carry an exception's text: the client gets none of it.
        String m = code >= 500 ? "the server failed on this request (HTTP " + code + ")"
                : message == null || message.isBlank() ? "the server cannot handle this request (HTTP " + code + ")" : message;
        String type = code == 404 ? "not_found_error" : code >= 500 ? "server_error" : "invalid_request_error";
        return Json.write(new Errors.Body(new Errors.Detail(m, type, null, null))).getBytes(StandardCharsets.UTF_8);
    }
}
