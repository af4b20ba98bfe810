package dev.loupe.web;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.Keys;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The pages in a real headless Chromium (Debian's /usr/bin/chromium driven through /usr/bin/chromedriver, both
 * installed by bin/setup-browser; nothing is downloaded), on a live server over the tiny-a run. Screenshots go
 * to target/screenshots/.
 */
class BrowserTest {
    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    static final Path SHOTS = Path.of("target", "screenshots");

    static LoupeServer server;
    static ChromeDriver driver;
    static Path profile;

    @BeforeAll
    static void start() throws IOException {
        if (!Files.isExecutable(CHROMIUM) || !Files.isExecutable(CHROMEDRIVER)) {
            throw new IllegalStateException("the browser tests need Debian's chromium and chromium-driver (" + CHROMIUM + ", " + CHROMEDRIVER
                    + "): run bin/setup-browser (bin/setup and bin/test do)");
        }
        server = TinyRun.liveServer(TinyRun.testLimits());
        Files.createDirectories(SHOTS);
        profile = Files.createTempDirectory("loupe-chromium-");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions", "--hide-scrollbars",
                "--window-size=1366,900", "--user-data-dir=" + profile.toAbsolutePath());
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
        driver = new ChromeDriver(service, options);
        driver.manage().window().setSize(new Dimension(1366, 900));
    }

    @AfterAll
    static void stop() throws IOException {
        if (driver != null) driver.quit();
        if (server != null) server.close();
        if (profile != null) {
            try (var s = Files.walk(profile)) {
                for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) p.toFile().delete();
            }
        }
    }

    private static WebDriverWait waitFor() { return new WebDriverWait(driver, Duration.ofSeconds(30)); }

    private static void open(String page) { driver.get(server.url() + page); }

    /** A full-page screenshot: the window is grown to the page's height first. */
    private static void shot(String name) throws IOException {
        long h = (Long) ((JavascriptExecutor) driver).executeScript("return Math.ceil(document.documentElement.scrollHeight)");
        driver.manage().window().setSize(new Dimension(1366, (int) Math.min(4000, Math.max(900, h))));
        File f = ((TakesScreenshot) driver).getScreenshotAs(OutputType.FILE);
        Files.copy(f.toPath(), SHOTS.resolve(name + ".png"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        driver.manage().window().setSize(new Dimension(1366, 900));
    }

    private static List<WebElement> all(String css) { return driver.findElements(By.cssSelector(css)); }

    @Test
    void featuresTableSortsFiltersAndOpensAFeature() throws IOException {
        open("index.html");
        waitFor().until(d -> all("#features tbody tr").size() > 0);
        assertTrue(driver.findElement(By.id("run-line")).getText().contains("256 features"));
        new Select(driver.findElement(By.id("sort"))).selectByValue("max_activation");
        waitFor().until(d -> driver.getCurrentUrl().contains("sort=max_activation"));
        waitFor().until(d -> driver.findElement(By.id("status")).getText().contains("features match"));
        List<WebElement> rows = all("#features tbody tr");
        assertTrue(rows.size() > 1);
        double first = Double.parseDouble(rows.get(0).findElements(By.tagName("td")).get(2).getText());
        double second = Double.parseDouble(rows.get(1).findElements(By.tagName("td")).get(2).getText());
        assertTrue(first >= second, "sorted by max activation, descending");
        shot("features");

        String id = rows.get(0).findElement(By.tagName("a")).getText().replace("#", "");
        rows.get(0).findElement(By.tagName("a")).click();
        waitFor().until(ExpectedConditions.textToBe(By.id("title"), "Feature " + id));
        waitFor().until(d -> all("#top-examples .example").size() > 0);
        waitFor().until(d -> all("#hist svg rect").size() > 0);
        waitFor().until(d -> all("#neighbours li a").size() == 10);
        assertEquals(10, all("#promoted tbody tr").size());
        assertEquals(10, all("#suppressed tbody tr").size());
        WebElement peak = driver.findElement(By.cssSelector("#top-examples .example .tok.center"));
        assertFalse(peak.getCssValue("background-color").equals("rgba(0, 0, 0, 0)"), "the peak token is shaded");
        assertTrue(peak.getAttribute("data-tip").contains("·"), "hover shows the value");

        // Test your own text.
        driver.findElement(By.id("test-text")).sendKeys("the golden gate bridge at night");
        driver.findElement(By.id("test-run")).click();
        waitFor().until(d -> all("#test-out .tok").size() > 3);
        assertTrue(driver.findElement(By.id("test-max")).getText().startsWith("max on this text"));
        shot("feature");
    }

    @Test
    void inspectorShadesTokensAndListsTheirFeatures() throws IOException {
        open("inspect.html");
        WebElement text = driver.findElement(By.id("text"));
        text.sendKeys("The Golden Gate Bridge opened in 1937.");
        driver.findElement(By.id("feature")).sendKeys("7");
        text.sendKeys(Keys.chord(Keys.CONTROL, Keys.ENTER));   // the keyboard way in
        waitFor().until(d -> all("#token-strip .tok").size() > 5);
        waitFor().until(d -> all("#per-token tbody tr").size() == all("#token-strip .tok").size());
        assertTrue(driver.findElement(By.cssSelector("#out h2")).getText().contains("feature 7"));
        // Select a later token with the keyboard and see its top features, each linking to its page.
        WebElement tok = all("#token-strip .tok").get(4);
        tok.sendKeys(Keys.ENTER);
        waitFor().until(d -> driver.findElement(By.cssSelector("#token-features h2")).getText().contains("position 4"));
        List<WebElement> links = all("#token-features a");
        assertFalse(links.isEmpty(), "the token has active features");
        assertTrue(links.getFirst().getAttribute("href").contains("feature.html?id="));
        shot("inspect");
        links.getFirst().click();
        waitFor().until(d -> driver.findElement(By.id("title")).getText().startsWith("Feature "));
    }

    @Test
    void whyThisNextTokenListsFeaturesByAttributionAndShadesThePrompt() throws IOException {
        open("inspect.html");
        driver.findElement(By.id("text")).sendKeys("The Golden Gate Bridge opened in 1937.");
        driver.findElement(By.id("why-run")).click();
        waitFor().until(d -> all("#why-features li").size() > 1 && all("#why-strip .tok").size() > 5);
        List<WebElement> links = all("#why-features a");
        assertTrue(links.getFirst().getAttribute("href").contains("feature.html?id="), "each feature links to its card");
        // Shade by the second feature: the caption names it.
        String second = links.get(1).getText();
        all("#why-features button").get(1).click();
        waitFor().until(d -> driver.findElement(By.cssSelector("#why-out .card p")).getText().contains(second.toLowerCase()));
        shot("why");
    }

    @Test
    void searchListsFeaturesAndShadesTheText() throws IOException {
        open("search.html");
        driver.findElement(By.id("text")).sendKeys("red steel cable tower in the fog");
        driver.findElement(By.id("run")).click();
        waitFor().until(d -> all("#results tbody tr").size() == 10);
        waitFor().until(d -> all("#shaded .tok").size() > 3);
        List<WebElement> rows = all("#results tbody tr");
        double a = Double.parseDouble(rows.get(0).findElements(By.tagName("td")).get(2).getText());
        double b = Double.parseDouble(rows.get(9).findElements(By.tagName("td")).get(2).getText());
        assertTrue(a >= b);
        waitFor().until(d -> !all("#results tbody tr td.top-tokens .chip").isEmpty());
        shot("search");
    }

    @Test
    void steeringStreamsBothContinuationsAndPlotsTheFeature() throws IOException {
        open("steer.html?feature=7");
        WebElement strength = driver.findElement(By.cssSelector(".f-strength-num"));
        strength.clear();
        strength.sendKeys("120");
        WebElement max = driver.findElement(By.id("max-tokens"));
        max.clear();
        max.sendKeys("24");
        WebElement prompt = driver.findElement(By.id("prompt"));
        prompt.clear();
        prompt.sendKeys("The city at night");
        driver.findElement(By.id("run")).click();
        waitFor().until(d -> all("#out-default .gen[data-done]").size() == 1 && all("#out-steered .gen[data-done]").size() == 1);
        String plain = driver.findElement(By.cssSelector("#out-default .gen")).getText();
        String steered = driver.findElement(By.cssSelector("#out-steered .gen")).getText();
        assertFalse(steered.equals(plain), "steering at 120 changes the continuation");
        assertEquals(2, all("#plot svg path").size(), "a line for each run");
        assertTrue(all("#plot svg circle").size() >= 2 * 10);
        assertTrue(driver.findElement(By.id("status")).getText().startsWith("Done"));
        assertEquals("0.5", driver.findElement(By.id("temperature")).getAttribute("value"), "temperature defaults to 0.5");
        assertEquals("-300", driver.findElement(By.cssSelector(".f-strength")).getAttribute("min"));
        assertEquals("300", driver.findElement(By.cssSelector(".f-strength")).getAttribute("max"));
        shot("steer");
    }

    private static Object js(String script, Object... args) { return ((JavascriptExecutor) driver).executeScript(script, args); }

    /** The feature that fires most often in the run: its histogram has the most to show. */
    private static int busiestFeature() {
        return Http.get(server.url().replaceAll("/$", ""), "/api/features?sort=fire_count&order=desc&limit=1").json().get("rows").get(0).get("feature_id").asInt();
    }

    @Test
    void theHistogramIsFineGrainedAndItsLabelsFit() throws IOException {
        int f = busiestFeature();
        open("feature.html?id=" + f);
        waitFor().until(d -> all("#hist svg rect").size() > 0);
        int bars = all("#hist svg rect").size();
        assertTrue(bars >= 12, "enough bins to show a shape, got " + bars);
        // Every tick label lies inside the chart (the last one used to be cut in half by the right edge).
        @SuppressWarnings("unchecked")
        List<Number> overflow = (List<Number>) js("""
                const svg = document.querySelector('#hist svg'); const w = svg.viewBox.baseVal.width;
                return [...svg.querySelectorAll('text')].map(t => { const b = t.getBBox(); return Math.max(0, b.x + b.width - w, -b.x); });""");
        assertTrue(overflow.stream().allMatch(o -> o.doubleValue() == 0), "labels past the chart's edges: " + overflow);
        shot("feature-histogram");
    }

    @Test
    void anExampleWidensAndOpensItsDocument() throws IOException {
        int f = busiestFeature();
        open("feature.html?id=" + f);
        waitFor().until(d -> all("#top-examples .example").size() > 0);
        WebElement first = all("#top-examples .example").getFirst();
        int before = first.findElements(By.cssSelector(".tok")).size();
        first.findElement(By.xpath(".//button[text()='more context']")).click();
        waitFor().until(d -> all("#top-examples .example").getFirst().getAttribute("class").contains("wide"));
        int after = all("#top-examples .example").getFirst().findElements(By.cssSelector(".tok")).size();
        assertTrue(after >= before, "widened from " + before + " to " + after + " tokens");
        assertEquals(1, all("#top-examples .example").getFirst().findElements(By.cssSelector(".tok.center")).size(), "the peak is still marked");
        // The tiny run's documents are shorter than the window: widening shows the whole document.
        String doc = all("#top-examples .example").getFirst().findElement(By.linkText("document")).getAttribute("href");
        int docLength = Http.get(server.url().replaceAll("/$", ""), "/api/documents/" + doc.replaceAll(".*doc=(\\d+).*", "$1")).json().get("length").asInt();
        assertEquals(Math.min(docLength, 2 * 64 + 1), after);
        shot("feature-example-widened");
        // Quantile groups start at 1: an empty band says why it is empty.
        if (!all("#quantiles .quantile").isEmpty()) assertEquals("1", all("#quantiles .quantile").getFirst().getAttribute("data-band"));

        all("#top-examples .example").getFirst().findElement(By.linkText("document")).click();
        waitFor().until(d -> all("#doc .tok").size() > 0);
        assertTrue(driver.findElement(By.id("title")).getText().startsWith("Document "));
        assertEquals(docLength, all("#doc .tok").size());
        WebElement peak = driver.findElement(By.cssSelector("#doc .tok.center"));
        assertFalse(peak.getCssValue("background-color").equals("rgba(0, 0, 0, 0)"), "the example's token is shaded");
        shot("document");
    }

    @Test
    void theLastFeatureHasNoNextAndAMissingOneIsNamedAsMissing() throws IOException {
        open("feature.html?id=" + (TinyRun.FEATURES - 1));
        waitFor().until(ExpectedConditions.textToBe(By.id("title"), "Feature " + (TinyRun.FEATURES - 1)));
        waitFor().until(d -> driver.findElement(By.id("steer-link")).isDisplayed());
        assertFalse(driver.findElement(By.id("next-f")).isDisplayed(), "no next after the last feature");
        assertTrue(driver.findElement(By.id("prev-f")).isDisplayed());
        assertTrue(driver.findElement(By.id("steer-link")).getAttribute("href").endsWith("steer.html?feature=" + (TinyRun.FEATURES - 1)));
        shot("feature-last");

        open("feature.html?id=" + TinyRun.FEATURES);
        waitFor().until(d -> !all("#status .error").isEmpty());
        assertTrue(driver.findElement(By.cssSelector("#status .error")).getText().contains("does not exist"));
        assertFalse(driver.findElement(By.id("steer-link")).isDisplayed(), "no steering a feature that is not there");
        assertFalse(driver.findElement(By.id("panels")).isDisplayed(), "no empty panels for a feature that is not there");
        assertFalse(driver.findElement(By.id("next-f")).isDisplayed());
        assertTrue(driver.findElement(By.id("prev-f")).getAttribute("href").endsWith("id=" + (TinyRun.FEATURES - 1)));
        shot("feature-missing");
    }

    @Test
    void sortingPushesHistorySoBackReturns() {
        open("index.html");
        waitFor().until(d -> driver.findElement(By.id("status")).getText().contains("features match"));
        String start = driver.getCurrentUrl();
        new Select(driver.findElement(By.id("sort"))).selectByValue("max_activation");
        waitFor().until(d -> driver.getCurrentUrl().contains("sort=max_activation"));
        new Select(driver.findElement(By.id("sort"))).selectByValue("fire_count");
        waitFor().until(d -> driver.getCurrentUrl().contains("sort=fire_count"));
        driver.navigate().back();
        waitFor().until(d -> driver.getCurrentUrl().contains("sort=max_activation"));
        waitFor().until(d -> new Select(driver.findElement(By.id("sort"))).getFirstSelectedOption().getAttribute("value").equals("max_activation"));
        driver.navigate().back();
        waitFor().until(d -> !driver.getCurrentUrl().contains("max_activation") && !driver.getCurrentUrl().contains("fire_count"));
        assertEquals(start, driver.getCurrentUrl());
    }

    @Test
    void theInspectorExplainsAnEmptyRunAndShadesBeforeAFeatureIsChosen() throws IOException {
        open("inspect.html");
        // The placeholder fits its box.
        Boolean fits = (Boolean) js("""
                const i = document.getElementById('feature'); const c = document.createElement('canvas').getContext('2d');
                const cs = getComputedStyle(i); c.font = cs.fontSize + ' ' + cs.fontFamily;
                return c.measureText(i.placeholder).width <= i.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);""");
        assertTrue(fits, "the placeholder is not cut off");
        driver.findElement(By.id("run")).click();
        waitFor().until(d -> driver.findElement(By.id("out")).getText().contains("Type some text"));
        driver.findElement(By.id("text")).sendKeys("The Golden Gate Bridge opened in 1937.");
        driver.findElement(By.id("run")).click();
        waitFor().until(d -> all("#token-strip .tok").size() > 5);
        long shaded = all("#token-strip .tok").stream().filter(t -> !t.getCssValue("background-color").equals("rgba(0, 0, 0, 0)")).count();
        assertTrue(shaded > 3, "tokens are shaded with no feature chosen: " + shaded);
        assertTrue(driver.findElement(By.id("shading")).getText().contains("strongest feature"));
        shot("inspect-unchosen");
    }

    @Test
    void searchShowsAndFiltersByDensity() throws IOException {
        open("search.html");
        driver.findElement(By.id("text")).sendKeys("red steel cable tower in the fog");
        driver.findElement(By.id("run")).click();
        waitFor().until(d -> !all("#results tbody tr").isEmpty());
        assertFalse(all("#results tbody td.density").getFirst().getText().isBlank());
        new Select(driver.findElement(By.id("max-density"))).selectByValue("0.1");
        driver.findElement(By.id("run")).click();
        waitFor().until(d -> driver.findElement(By.cssSelector("#out h2")).getText().contains("at most"));
        for (WebElement td : all("#results tbody td.density")) {
            assertTrue(Double.parseDouble(td.getText().replace("%", "")) <= 10, td.getText());
        }
        shot("search-density");
    }

    @Test
    void everyPageHasAFavicon() {
        open("index.html");
        assertEquals("favicon.svg", driver.findElement(By.cssSelector("link[rel=icon]")).getAttribute("href").replaceAll(".*/", ""));
        String base = server.url().replaceAll("/$", "");
        assertEquals(200, Http.get(base, "/favicon.svg").status());
        Http.Reply ico = Http.get(base, "/favicon.ico");
        assertEquals(200, ico.status());
        assertEquals("image/x-icon", ico.contentType());
    }
}
