// The broker's own counters, read by `rdv bench e2e` (rdv_tools.bench.broker_counts): the
// requests it served by API, and the messages and bytes in and out. It attaches to the
// broker's JVM by pid (the JDK's attach API: the same user, no JMX port opened), then
// answers every line on stdin with one line of name=count pairs.
import com.sun.tools.attach.VirtualMachine;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.Map;
import java.util.TreeMap;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

public class BrokerCounts {
  public static void main(String[] args) throws Exception {
    VirtualMachine vm = VirtualMachine.attach(args[0]);
    String address = vm.startLocalManagementAgent();
    vm.detach();
    ObjectName requests =
        new ObjectName("kafka.network:type=RequestMetrics,name=RequestsPerSec,*");
    ObjectName topics = new ObjectName("kafka.server:type=BrokerTopicMetrics,*");
    try (JMXConnector connector = JMXConnectorFactory.connect(new JMXServiceURL(address))) {
      MBeanServerConnection server = connector.getMBeanServerConnection();
      BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
      System.out.println("ready");
      while (in.readLine() != null) {
        Map<String, Long> counts = new TreeMap<>();
        // One bean per API version: the versions are summed.
        for (ObjectName name : server.queryNames(requests, null)) {
          long count = ((Number) server.getAttribute(name, "Count")).longValue();
          counts.merge("request." + name.getKeyProperty("request"), count, Long::sum);
        }
        // The beans without a topic are the broker's totals.
        for (ObjectName name : server.queryNames(topics, null)) {
          if (name.getKeyProperty("topic") == null) {
            long count = ((Number) server.getAttribute(name, "Count")).longValue();
            counts.put("topics." + name.getKeyProperty("name"), count);
          }
        }
        StringBuilder line = new StringBuilder();
        counts.forEach((key, value) -> line.append(key).append('=').append(value).append(' '));
        System.out.println(line.toString().trim());
      }
    }
  }
}
