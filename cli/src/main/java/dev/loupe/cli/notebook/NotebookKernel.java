package dev.loupe.cli.notebook;

import dev.loupe.model.display.Rich;

import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.List;

/**
 * Starts the rapaio JShell kernel (its jar on the class path beside Loupe's, see bin/setup-jupyter) with Loupe's
 * rich values ({@link Rich}: charts, tables, shaded text) rendered as their HTML or SVG, and other values as plain
 * text. rapaio renders every value as {@code toString()} under one default MIME type and only finds renderers
 * through its service loader at start-up, so this adds one renderer before the kernel starts. It is reached by
 * reflection: Loupe does not compile against the kernel, whose jar only the notebook set-up fetches.
 */
public final class NotebookKernel {
    private static final String DISPLAY = "org.rapaio.jupyter.kernel.display.";

    private NotebookKernel() {}

    public static void main(String[] args) throws Exception {
        Class<?> app;
        try {
            app = Class.forName("org.rapaio.jupyter.kernel.MainApp");
        } catch (ClassNotFoundException e) {
            System.err.println("loupe kernel: the rapaio kernel jar is not on the class path (run bin/setup-jupyter)");
            System.exit(2);
            return;
        }
        try {
            installRichRenderer();
        } catch (ReflectiveOperationException | RuntimeException e) {
            // The kernel still works; Loupe's displays then show as markup text.
            System.err.println("loupe kernel: could not register the rich renderer (" + e + ")");
        }
        try {
            app.getMethod("main", String[].class).invoke(null, (Object) args);
        } catch (InvocationTargetException e) {
            throw e.getCause() instanceof Exception ex ? ex : e;
        }
    }

    static void installRichRenderer() throws ReflectiveOperationException {
        ClassLoader loader = NotebookKernel.class.getClassLoader();
        Class<?> rendererType = Class.forName(DISPLAY + "DisplayRenderer", true, loader);
        Class<?> dataType = Class.forName(DISPLAY + "DisplayData", true, loader);
        // fromText + putData: withType only knows a fixed list of MIME types, without image/svg+xml.
        Method fromText = dataType.getMethod("fromText", String.class);
        Method putData = dataType.getMethod("putData", String.class, Object.class);
        Object renderer = Proxy.newProxyInstance(loader, new Class<?>[]{rendererType}, (proxy, method, a) -> switch (method.getName()) {
            case "rendererClass" -> Rich.class;
            case "canRender" -> true;
            case "render" -> {
                Rich rich = (Rich) a[1];
                try {
                    Object data = fromText.invoke(null, rich.summary());
                    putData.invoke(data, rich.mimeType(), rich.content());
                    yield data;
                } catch (InvocationTargetException e) {
                    throw e.getCause();
                }
            }
            case "hashCode" -> System.identityHashCode(proxy);
            case "equals" -> proxy == a[0];
            case "toString" -> "Loupe rich renderer";
            default -> throw new UnsupportedOperationException(method.getName());
        });
        Class<?> system = Class.forName(DISPLAY + "DisplaySystem", true, loader);
        Field renderers = system.getDeclaredField("spiDisplayRenderers");
        renderers.setAccessible(true);
        @SuppressWarnings("unchecked")
        List<Object> list = (List<Object>) renderers.get(system.getMethod("inst").invoke(null));
        list.addFirst(renderer);
        Object options = Class.forName("org.rapaio.jupyter.kernel.global.Global", true, loader).getMethod("options").invoke(null);
        options.getClass().getMethod("set", String.class, String.class).invoke(options, "display.defaultMime", "text/plain");
    }
}
