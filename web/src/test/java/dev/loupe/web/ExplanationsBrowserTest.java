package dev.loupe.web;

import dev.loupe.analysis.ExplanationsFile;
import dev.loupe.analysis.FeatureStore;
import dev.loupe.analysis.explain.ChatClient;
import dev.loupe.analysis.explain.Explainer;
import dev.loupe.analysis.explain.Prompts;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Explanations in the pages, in headless Chromium: explanations of a copy of the tiny-a run are made by the explain
 * pipeline against the live tiny-a server's own /v1/chat/completions (the real protocol; a random model's answers
 * are noise and its scores mostly unreadable), plus one written as loupe explain writes it with known scores; the
 * feature table, the feature card and the explanation search show them. Screenshots: target/screenshots/explanations-*.png.
 */
class ExplanationsBrowserTest {
    static LoupeServer live, browse;
    static ChromeDriver driver;
    static Path profile, run;
    static final String KNOWN = "fires on the second word of a bridge name";

    @BeforeAll static void start() throws Exception {
        if (!Files.isExecutable(BrowserTest.CHROMIUM) || !Files.isExecutable(BrowserTest.CHROMEDRIVER)) {
            throw new IllegalStateException("the browser tests need Debian's chromium and chromium-driver: run bin/setup-browser");
        }
        live = TinyRun.liveServer(TinyRun.testLimits().withMaxPromptTokens(4096));
        run = TinyRun.browsingOnlyCopy();
        try (FeatureStore store = FeatureStore.open(run)) {
            ChatClient client = new ChatClient(URI.create(live.url() + "v1"), "tiny-a", null, Duration.ofMinutes(2));
            new Explainer(store, client, Prompts.in(run.resolve("prompts")), new Explainer.Options(List.of(1, 2), 2, 4),
                    new PrintStream(PrintStream.nullOutputStream())).run();
            List<ExplanationsFile.Row> rows = new ArrayList<>(ExplanationsFile.read(ExplanationsFile.of(store)));
            assertEquals(2, rows.size(), "the pipeline explained features 1 and 2 through the live server");
            rows.add(new ExplanationsFile.Row(0, KNOWN, Explainer.METHOD, "scripted", "0123456789abcdef", 0.8333, 0.6667, System.currentTimeMillis()));
            ExplanationsFile.write(ExplanationsFile.of(store), rows);
        }
        browse = LoupeServer.start(ServerOptions.of(run).withAddress("127.0.0.1", 0).withThreads(1));
        Files.createDirectories(BrowserTest.SHOTS);
        profile = Files.createTempDirectory("loupe-chromium-");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(BrowserTest.CHROMIUM.toFile());
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions",
                "--hide-scrollbars", "--window-size=1366,900", "--user-data-dir=" + profile.toAbsolutePath());
        driver = new ChromeDriver(new ChromeDriverService.Builder().usingDriverExecutable(BrowserTest.CHROMEDRIVER.toFile()).usingAnyFreePort().build(), options);
    }

    @AfterAll static void stop() throws IOException {
        if (driver != null) driver.quit();
        if (browse != null) browse.close();
        if (live != null) live.close();
        if (profile != null) {
            try (var s = Files.walk(profile)) {
                for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) p.toFile().delete();
            }
        }
    }

    static WebDriverWait waitFor() { return new WebDriverWait(driver, Duration.ofSeconds(30)); }

    static List<WebElement> all(String css) { return driver.findElements(By.cssSelector(css)); }

    static void shot(String name) throws IOException {
        long h = (Long) ((JavascriptExecutor) driver).executeScript("return Math.ceil(document.documentElement.scrollHeight)");
        driver.manage().window().setSize(new Dimension(1366, (int) Math.min(4000, Math.max(900, h))));
        File f = ((TakesScreenshot) driver).getScreenshotAs(OutputType.FILE);
        Files.copy(f.toPath(), BrowserTest.SHOTS.resolve(name + ".png"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        driver.manage().window().setSize(new Dimension(1366, 900));
    }

    @Test void cardTableAndSearchShowExplanationsAndScores() throws IOException {
        driver.get(browse.url() + "feature.html?id=0");
        waitFor().until(d -> !all("#explanations li.explanation").isEmpty());
        String card = driver.findElement(By.id("explanations")).getText();
        assertTrue(card.contains(KNOWN) && card.contains("detection 0.833") && card.contains("fuzzing 0.667"), card);
        shot("explanations-card");

        driver.get(browse.url() + "feature.html?id=1");
        waitFor().until(d -> !all("#explanations li.explanation").isEmpty());
        assertTrue(driver.findElement(By.id("explanations")).getText().contains("tiny-a"), "the pipeline's explanation, by the explainer model");

        driver.get(browse.url() + "index.html?sort=feature_id&order=asc&limit=50");
        waitFor().until(d -> all("#features tbody tr").size() > 2);
        waitFor().until(d -> all("#features tbody tr").getFirst().getText().contains(KNOWN));
        assertTrue(all("#features tbody tr").getFirst().getText().contains("(0.833 / 0.667)"), all("#features tbody tr").getFirst().getText());
        shot("explanations-table");

        driver.get(browse.url() + "search.html");
        driver.findElement(By.id("expl-q")).sendKeys("BRIDGE name");
        driver.findElement(By.id("expl-run")).click();
        waitFor().until(d -> !all("#expl-out li").isEmpty());
        List<WebElement> hits = all("#expl-out li");
        assertEquals(1, hits.size());
        assertTrue(hits.getFirst().getText().contains("#0"), hits.getFirst().getText());
        shot("explanations-search");
    }
}
