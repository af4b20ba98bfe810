package dev.loupe.web;

import io.javalin.http.Context;

/** Query-string and path parameters, checked with messages that name them. */
final class QueryParams {
    private QueryParams() {}

    static int intParam(Context ctx, String name, int fallback, int min, int max) {
        String v = ctx.queryParam(name);
        if (v == null || v.isBlank()) return fallback;
        long n;
        try {
            n = parseAsciiLong(v.strip());
        } catch (NumberFormatException e) {
            throw ApiException.badRequest("query parameter '" + name + "' must be an integer in [" + min + ", " + max + "], got \"" + clip(v) + "\"", name);
        }
        if (n < min || n > max) throw ApiException.badRequest("query parameter '" + name + "' must be in [" + min + ", " + max + "], got " + n, name);
        return (int) n;
    }

    static double doubleParam(Context ctx, String name, double fallback, double min, double max) {
        String v = ctx.queryParam(name);
        if (v == null || v.isBlank()) return fallback;
        double d;
        try {
            d = Double.parseDouble(v.strip());
        } catch (NumberFormatException e) {
            throw ApiException.badRequest("query parameter '" + name + "' must be a number, got \"" + clip(v) + "\"", name);
        }
        if (!Double.isFinite(d) || d < min || d > max) {
            throw ApiException.badRequest("query parameter '" + name + "' must be a finite number in [" + min + ", " + max + "], got \"" + clip(v) + "\"", name);
        }
        return d;
    }

    static boolean boolParam(Context ctx, String name, boolean fallback) {
        String v = ctx.queryParam(name);
        if (v == null || v.isBlank()) return fallback;
        return switch (v.strip().toLowerCase(java.util.Locale.ROOT)) {
            case "true", "1", "yes", "on" -> true;
            case "false", "0", "no", "off" -> false;
            default -> throw ApiException.badRequest("query parameter '" + name + "' must be true or false, got \"" + clip(v) + "\"", name);
        };
    }

    /** A feature id from the path: an integer (else 400) below {@code count} (else 404). */
    static int feature(Context ctx, int count) {
        String v = ctx.pathParam("id");
        long f;
        try {
            f = parseAsciiLong(v);
        } catch (NumberFormatException e) {
            throw ApiException.badRequest("a feature id must be an integer, got \"" + clip(v) + "\"", "id");
        }
        if (f < 0 || f >= count) throw ApiException.notFound("feature " + f + " does not exist: this run has features 0.." + (count - 1));
        return (int) f;
    }

    /**
     * An integer written with ASCII digits only: {@link Long#parseLong} also reads other scripts' digits (an
     * Arabic-Indic "٣" is 3), so a URL that shows one number would name another.
     */
    static long parseAsciiLong(String v) {
        if (!ASCII_INTEGER.matcher(v).matches()) throw new NumberFormatException(v);
        return Long.parseLong(v);
    }

    private static final java.util.regex.Pattern ASCII_INTEGER = java.util.regex.Pattern.compile("[+-]?[0-9]{1,19}");

    static String clip(String s) { return s.length() <= 40 ? s : s.substring(0, 40) + "…"; }
}
