package io.checkpointgateway.client;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameters;

/**
 * Compiles and runs the usage example of client/java/README.md against each gateway, so the
 * README stays true: its imports and statements become a {@code main}, and its placeholder
 * target {@code "127.0.0.1:50051"} becomes the gateway's.
 */
@RunWith(Parameterized.class)
public class ReadmeExampleTest {
  private static final String MARKER = "<!-- example: run by ReadmeExampleTest -->";
  private static final String PLACEHOLDER = "\"127.0.0.1:50051\"";

  @Parameters(name = "{0}")
  public static List<Object[]> gateways() {
    return GatewayTarget.parameters();
  }

  private final GatewayTarget gateway;

  public ReadmeExampleTest(String backend, GatewayTarget gateway) {
    this.gateway = gateway;
  }

  static String example() throws IOException {
    String readme = Files.readString(Path.of(System.getProperty("readme.path", "../README.md")));
    int at = readme.indexOf(MARKER);
    assertTrue("README.md has no " + MARKER, at >= 0);
    Matcher m = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL).matcher(readme);
    assertTrue("no java block after the marker", m.find(at));
    return m.group(1);
  }

  @Test
  public void readmeExampleRuns() throws Exception {
    String example = example();
    assertTrue("the example connects to " + PLACEHOLDER, example.contains(PLACEHOLDER));
    int lines = example.strip().split("\n").length;
    assertTrue("the example is short: " + lines + " lines", lines <= 20);
    StringBuilder imports = new StringBuilder();
    StringBuilder body = new StringBuilder();
    for (String line : example.replace(PLACEHOLDER, '"' + gateway.target + '"').split("\n")) {
      (line.startsWith("import ") ? imports : body).append(line).append('\n');
    }
    String source =
        imports + "public class ReadmeExample {\n  public static void main(String[] args) throws Exception {\n"
            + body + "  }\n}\n";

    Path dir = Files.createTempDirectory("readme-example");
    Path file = dir.resolve("ReadmeExample.java");
    Files.writeString(file, source);
    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    ByteArrayOutputStream errors = new ByteArrayOutputStream();
    int rc =
        javac.run(null, null, errors, "-classpath", System.getProperty("java.class.path"),
            "-d", dir.toString(), file.toString());
    assertEquals("the README example does not compile:\n" + errors + "\n" + source, 0, rc);

    PrintStream stdout = System.out;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (URLClassLoader loader =
        new URLClassLoader(new URL[] {dir.toUri().toURL()}, getClass().getClassLoader())) {
      Method main = loader.loadClass("ReadmeExample").getMethod("main", String[].class);
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      main.invoke(null, (Object) new String[0]);
    } finally {
      System.setOut(stdout);
    }
    String printed = out.toString(StandardCharsets.UTF_8);
    stdout.print(printed);
    List<String> expected = new ArrayList<>(List.of("{\"step\": 1}", "not found: NOT_FOUND"));
    for (String text : expected) {
      assertTrue("the example printed " + printed, printed.contains(text));
    }
    try (CheckpointGatewayClient client = gateway.client()) {
      assertEquals("agent", client.latest("thread-1").node());
    }
  }
}
