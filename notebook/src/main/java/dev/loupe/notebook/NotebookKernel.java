package dev.loupe.notebook;

import dev.loupe.notebook.display.Rich;

import java.io.InputStream;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.LogManager;

/**
 * Starts the rapaio JShell kernel (io.github.padreati:rapaio-jupyter-kernel 3.0.1, whose jar bin/setup-jupyter puts on
 * the class path beside Loupe's) with two changes, both made through reflection because Loupe does not compile
 * against the kernel:
 * <ul>
 *   <li><b>No start-up hang.</b> rapaio's {@code Channels.connect} starts its socket threads before it fills its
 *       message-handler table and before the kernel knows its channels. Jupyter clients send {@code kernel_info_request}
 *       as soon as they connect, so a request that lands in that window kills the shell thread with a
 *       NullPointerException and the kernel never answers (most launches on a busy 2-core machine). This class does
 *       what {@code connect} does in the safe order: handlers and channels first, then the sockets.</li>
 *   <li><b>No second start-up hang.</b> rapaio's loop threads can exit before their first poll (a start race in its
 *       {@code LoopThread}); {@link #keepLoopsRunning} makes sure every channel's loop runs.</li>
 *   <li><b>Rich output.</b> rapaio shows every value as {@code toString()} under one default MIME type and finds
 *       renderers only through its service loader at start-up; a renderer for Loupe's {@link Rich} values (charts,
 *       tables, shaded text) is added, and plain values show as text.</li>
 * </ul>
 * Should the rapaio internals differ (another version), it falls back to rapaio's own start-up.
 */
public final class NotebookKernel {
    private static final String KERNEL = "org.rapaio.jupyter.kernel.";

    private NotebookKernel() {}

    public static void main(String[] args) throws Throwable {
        if (args.length != 1) {
            System.err.println("loupe kernel: expected one argument, the Jupyter connection file");
            System.exit(2);
        }
        ClassLoader loader = NotebookKernel.class.getClassLoader();
        Class<?> app;
        try {
            app = Class.forName(KERNEL + "MainApp", false, loader);
        } catch (ClassNotFoundException e) {
            System.err.println("loupe kernel: the rapaio kernel jar is not on the class path (run bin/setup-jupyter)");
            System.exit(2);
            return;
        }
        // A kernel whose socket thread died can never answer: exit so that the client sees it die (a Jupyter server
        // then restarts it) rather than wait for ever.
        Thread.setDefaultUncaughtExceptionHandler((thread, e) -> {
            System.err.println("loupe kernel: thread " + thread.getName() + " died (" + e + "); exiting");
            Runtime.getRuntime().halt(3);
        });
        try {
            installRichRenderer(loader);
        } catch (ReflectiveOperationException | RuntimeException e) {
            System.err.println("loupe kernel: could not register the rich renderer (" + e + "); Loupe's displays will show as text");
        }
        Object channels;
        try {
            channels = connect(loader, app, Path.of(args[0]));
        } catch (NoSuchFieldException | NoSuchMethodException | ClassNotFoundException e) {
            System.err.println("loupe kernel: rapaio internals differ from 3.0.1 (" + e + "); using its own start-up");
            invoke(app.getMethod("main", String[].class), null, (Object) args);
            return;
        }
        invoke(channels.getClass().getMethod("joinUntilClose"), channels);
    }

    /** rapaio's MainApp.runKernel and Channels.connect, with the handlers and channels in place before any socket. */
    static Object connect(ClassLoader loader, Class<?> app, Path connectionFile) throws Throwable {
        try (InputStream logging = loader.getResourceAsStream("logging.properties")) {
            if (logging != null) LogManager.getLogManager().readConfiguration(logging);
        }
        Class<?> propsType = Class.forName(KERNEL + "core.ConnectionProperties", true, loader);
        Class<?> channelsType = Class.forName(KERNEL + "channels.Channels", true, loader);
        Class<?> kernelType = Class.forName(KERNEL + "core.RapaioKernel", true, loader);
        Class<?> messageType = Class.forName(KERNEL + "message.MessageType", true, loader);
        Class<?> messageClass = Class.forName(KERNEL + "message.Message", true, loader);
        Class<?> handlerType = Class.forName(KERNEL + "channels.MessageHandler", true, loader);
        Class<?> abstractChannel = Class.forName(KERNEL + "channels.AbstractChannel", true, loader);
        Field handlersField = channelsType.getDeclaredField("handlers");
        Field channelSet = channelsType.getDeclaredField("channels");
        Field iopubField = channelsType.getDeclaredField("iopub");
        Field connected = channelsType.getDeclaredField("isConnected");
        Method bind = abstractChannel.getMethod("bind", propsType);
        Method send = abstractChannel.getMethod("sendMessage", messageClass);

        String json = Files.readString(connectionFile);
        Object props = invoke(Class.forName(KERNEL + "core.Transform", true, loader).getMethod("fromJson", String.class, Class.class),
                null, json, propsType);
        if ("ipc".equals(invoke(propsType.getMethod("transport"), props))) {
            throw new IllegalArgumentException(connectionFile + ": transport ipc is not supported by the rapaio kernel; use tcp");
        }
        Object kernel = app.getField("kernel").get(null);          // MainApp's kernel: Global's display calls reach it
        Object channels = channelsType.getConstructor(propsType).newInstance(props);

        // The same table connect() builds: message type -> the kernel's handler method.
        Map<String, String> table = Map.ofEntries(
                Map.entry("SHELL_EXECUTE_REQUEST", "handleExecuteRequest"),
                Map.entry("SHELL_INSPECT_REQUEST", "handleInspectRequest"),
                Map.entry("SHELL_COMPLETE_REQUEST", "handleCompleteRequest"),
                Map.entry("SHELL_HISTORY_REQUEST", "handleHistoryRequest"),
                Map.entry("SHELL_IS_COMPLETE_REQUEST", "handleIsCompleteRequest"),
                Map.entry("SHELL_KERNEL_INFO_REQUEST", "handleKernelInfoRequest"),
                Map.entry("CONTROL_SHUTDOWN_REQUEST", "handleShutdownRequest"),
                Map.entry("CONTROL_INTERRUPT_REQUEST", "handleInterruptRequest"),
                Map.entry("CUSTOM_COMM_OPEN", "handleCommOpenCommand"),
                Map.entry("CUSTOM_COMM_MSG", "handleCommMsgCommand"),
                Map.entry("CUSTOM_COMM_CLOSE", "handleCommCloseCommand"),
                Map.entry("SHELL_COMM_INFO_REQUEST", "handleCommInfoRequest"));
        Map<Object, Object> handlers = new HashMap<>();
        for (var e : table.entrySet()) {
            Method target = kernelType.getMethod(e.getValue(), messageClass);
            handlers.put(messageType.getField(e.getKey()).get(null), proxy(loader, handlerType, (proxy, method, a) -> {
                if (!method.getName().equals("handle")) return objectMethod(proxy, method, a);
                return invoke(target, kernel, a[0]);
            }));
        }
        handlersField.setAccessible(true);
        handlersField.set(channels, handlers);
        invoke(kernelType.getMethod("registerChannels", channelsType), kernel, channels);
        channelSet.setAccessible(true);
        Set<?> all = (Set<?>) channelSet.get(channels);
        for (Object channel : all) invoke(bind, channel, props);
        try {
            keepLoopsRunning(loader, all);
        } catch (ReflectiveOperationException | RuntimeException e) {
            System.err.println("loupe kernel: could not check rapaio's channel threads (" + e + "); a start may hang");
        }
        iopubField.setAccessible(true);
        Object starting = Class.forName(KERNEL + "message.messages.IOPubStatus", true, loader).getField("STARTING").get(null);
        invoke(send, iopubField.get(channels), messageClass.getConstructor(messageType, Object.class)
                .newInstance(messageType.getField("IOPUB_STATUS").get(null), starting));
        connected.setAccessible(true);
        connected.setBoolean(channels, true);
        return channels;
    }

    /**
     * The root cause of the remaining start-up hang: rapaio's {@code LoopThread.start()} calls {@code super.start()}
     * and only then sets {@code running = true}, and its {@code run()} is {@code while (running) ...}. When the new
     * thread gets to that test first (often enough on a busy machine, about one start in nine here), it exits at
     * once and its channel is never read again: a dead shell loop leaves {@code kernel_info_request} unanswered for
     * ever (the bytes arrive, nothing reads them), a dead heartbeat loop makes the client declare the kernel dead.
     * The control loop names its thread "Shell-N" too, which is why a "Shell-0" thread stayed alive in a hung
     * kernel. Here each channel's loop thread gets {@code running = true}, which a thread that has not reached its
     * test yet then sees; a thread that already exited is replaced by a new one with the same body, started with
     * {@code running} already true.
     */
    static void keepLoopsRunning(ClassLoader loader, Set<?> channels) throws ReflectiveOperationException {
        Class<?> loopType = Class.forName(KERNEL + "channels.LoopThread", true, loader);
        Field running = loopType.getDeclaredField("running");
        Field sleep = loopType.getDeclaredField("sleep");
        Field body = loopType.getDeclaredField("loopBody");
        for (Field f : new Field[]{running, sleep, body}) f.setAccessible(true);
        var make = loopType.getConstructor(String.class, long.class, Runnable.class);
        for (Object channel : channels) {
            Field loopField;
            try {
                loopField = channel.getClass().getDeclaredField("loopThread");
            } catch (NoSuchFieldException e) {
                continue;   // a channel without a loop (iopub only sends)
            }
            loopField.setAccessible(true);
            Thread loop = (Thread) loopField.get(channel);
            if (loop == null) continue;
            running.setBoolean(loop, true);
            // A thread in its loop sleeps between polls; one that lost the race terminates. Wait to see which.
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (loop.getState() != Thread.State.TIMED_WAITING && loop.getState() != Thread.State.TERMINATED
                    && System.nanoTime() < deadline) {
                Thread.onSpinWait();
                LockSupport.parkNanos(2_000_000);
            }
            if (loop.getState() == Thread.State.TERMINATED) {
                Thread fresh = (Thread) make.newInstance(loop.getName(), sleep.getLong(loop), body.get(loop));
                running.setBoolean(fresh, true);
                loopField.set(channel, fresh);
                fresh.start();
                System.err.println("loupe kernel: restarted " + channel.getClass().getSimpleName()
                        + "'s loop thread, which had exited before its first poll (rapaio's LoopThread start race)");
            }
        }
    }

    static void installRichRenderer(ClassLoader loader) throws ReflectiveOperationException {
        Class<?> rendererType = Class.forName(KERNEL + "display.DisplayRenderer", true, loader);
        Class<?> dataType = Class.forName(KERNEL + "display.DisplayData", true, loader);
        // fromText + putData: withType only knows a fixed list of MIME types, without image/svg+xml.
        Method fromText = dataType.getMethod("fromText", String.class);
        Method putData = dataType.getMethod("putData", String.class, Object.class);
        Object renderer = proxy(loader, rendererType, (proxy, method, a) -> switch (method.getName()) {
            case "rendererClass" -> Rich.class;
            case "canRender" -> true;
            case "render" -> {
                Rich rich = (Rich) a[1];
                Object data = invoke(fromText, null, rich.summary());
                invoke(putData, data, rich.mimeType(), rich.content());
                yield data;
            }
            default -> objectMethod(proxy, method, a);
        });
        Class<?> system = Class.forName(KERNEL + "display.DisplaySystem", true, loader);
        Field renderers = system.getDeclaredField("spiDisplayRenderers");
        renderers.setAccessible(true);
        @SuppressWarnings("unchecked")
        List<Object> list = (List<Object>) renderers.get(system.getMethod("inst").invoke(null));
        list.addFirst(renderer);
        Object options = Class.forName(KERNEL + "global.Global", true, loader).getMethod("options").invoke(null);
        options.getClass().getMethod("set", String.class, String.class).invoke(options, "display.defaultMime", "text/plain");
    }

    private static Object proxy(ClassLoader loader, Class<?> type, java.lang.reflect.InvocationHandler handler) {
        return Proxy.newProxyInstance(loader, new Class<?>[]{type}, handler);
    }

    private static Object objectMethod(Object proxy, Method method, Object[] a) {
        return switch (method.getName()) {
            case "hashCode" -> System.identityHashCode(proxy);
            case "equals" -> proxy == a[0];
            case "toString" -> "Loupe " + method.getDeclaringClass().getSimpleName();
            default -> throw new UnsupportedOperationException(method.getName());
        };
    }

    /** Calls {@code m}, rethrowing what it throws rather than a wrapper. */
    private static Object invoke(Method m, Object target, Object... args) throws Throwable {
        try {
            return m.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
