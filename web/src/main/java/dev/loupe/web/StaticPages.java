package dev.loupe.web;

import io.javalin.http.Context;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * The pages, scripts and styles, served from the classpath folder {@code /public} only (nothing is read from the
 * file system, and there is no CDN). Names are single path segments of safe characters, so no request can
 * climb out of that folder; anything else is a 400 or 404 in the API's JSON shape.
 */
final class StaticPages {
    private static final Pattern SAFE_NAME = Pattern.compile("[A-Za-z0-9_-]+(\\.[A-Za-z0-9]+)+");
    private static final Map<String, String> TYPES = Map.of(
            "html", "text/html; charset=utf-8",
            "js", "text/javascript; charset=utf-8",
            "css", "text/css; charset=utf-8",
            "svg", "image/svg+xml",
            "png", "image/png",
            "json", "application/json",
            "txt", "text/plain; charset=utf-8",
            "ico", "image/x-icon");

    private final Map<String, byte[]> cache = new ConcurrentHashMap<>();

    void serve(Context ctx, String name) {
        if (name.contains("..") || name.contains("/") || name.contains("\\") || !SAFE_NAME.matcher(name).matches()) {
            throw ApiException.badRequest("'" + name + "' is not a file this server serves (plain names such as feature.html only)", "path");
        }
        String ext = name.substring(name.lastIndexOf('.') + 1);
        String type = TYPES.get(ext);
        byte[] bytes = type == null ? null : cache.get(name);
        if (bytes == null && type != null) {
            bytes = read(name);
            if (bytes != null) cache.put(name, bytes);
        }
        if (bytes == null) throw ApiException.notFound("no page or file '" + name + "'");
        ctx.contentType(type);
        ctx.header("Cache-Control", "no-cache");
        ctx.header("X-Content-Type-Options", "nosniff");
        ctx.result(bytes);
    }

    /** The resource's bytes, or null when there is none. */
    private static byte[] read(String name) {
        try (InputStream in = StaticPages.class.getResourceAsStream("/public/" + name)) {
            return in == null ? null : in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read /public/" + name + " from the classpath", e);
        }
    }
}
