// Connects with pgjdbc to every case in a TSV file (id, client, pooled, url) and prints one TSV
// line per case: id, "ok", current_user, server-side ssl, "unknown" (pgjdbc has no public TLS flag:
// the server-side column and a TLS-only pooler stand for it); or id, "refused", the error.
// Run as a single-file program by crates/cli/tests/it/clients.rs: one JVM for every case.
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;

public class Connect {
    static final String SQL = "select current_user::text, coalesce((select ssl from pg_stat_ssl where pid = pg_backend_pid()), false)";

    public static void main(String[] args) throws Exception {
        DriverManager.setLoginTimeout(5);
        for (String line : Files.readAllLines(Paths.get(args[0]), StandardCharsets.UTF_8)) {
            if (line.isEmpty()) continue;
            String[] f = line.split("\t", 4);
            try (Connection c = DriverManager.getConnection(f[3]);
                 Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery(SQL)) {
                rs.next();
                System.out.println(f[0] + "\tok\t" + rs.getString(1) + "\t" + rs.getBoolean(2) + "\tunknown");
            } catch (Exception e) {
                String m = (e.getClass().getSimpleName() + ": " + e.getMessage()).replace('\t', ' ');
                System.out.println(f[0] + "\trefused\t" + m.split("\n")[0]);
            }
        }
    }
}
