# abc-pipeline base recipe: a local stand-in for the official image named below, built
# on Debian trixie with the JDK from Debian unstable (sid), the one suite that still
# ships OpenJDK 11, when that image cannot be pulled. Java 11 projects (an old Lombok
# reaches into javac internals JDK 17 closes) do not compile on JDK 17.
# image: eclipse-temurin:11-jdk
# suite: trixie
# default: no
# check: java -version && javac -version && test -x "$JAVA_HOME/bin/java"
FROM abc-pipeline/debian:trixie
# Temurin keeps its JDK at /opt/java/openjdk; link Debian's there so JAVA_HOME matches.
# sid comes from the same mirror as trixie; `-t sid` lets the JDK pull the newer libraries it
# was built against. sid's Release file expires within days: a mirror that lags (or a clock
# ahead of it) must not stop the build. The image keeps trixie's sources only: what a
# generated Dockerfile installs (maven) comes from the suite the image is.
RUN sed -n 's#^deb \([^ ]*\) trixie main$#deb [check-valid-until=no] \1 sid main#p' /etc/apt/sources.list > /etc/apt/sources.list.d/sid.list \
 && apt-get update \
 && apt-get install -y --no-install-recommends -t sid ca-certificates openjdk-11-jdk-headless \
 && rm -rf /var/lib/apt/lists/* /etc/apt/sources.list.d/sid.list \
 && mkdir -p /opt/java \
 && ln -s "$(dirname "$(dirname "$(readlink -f /usr/bin/javac)")")" /opt/java/openjdk
ENV JAVA_HOME=/opt/java/openjdk LANG=C.UTF-8
# @extra-ca@
# The JVM does not read the system CA bundle: Maven and Gradle trust what is in the JDK's
# key store. Debian's JDK uses /etc/ssl/certs/java/cacerts, which ca-certificates-java
# fills from update-ca-certificates, one certificate per file: the extra bundle is split.
RUN if [ -s /usr/local/share/ca-certificates/abc-pipeline-extra-ca.crt ]; then \
      cd /usr/local/share/ca-certificates \
   && awk '/-----BEGIN CERTIFICATE-----/ { n++; f = sprintf("abc-pipeline-extra-ca-%03d.crt", n) } \
           n { print > f } /-----END CERTIFICATE-----/ { close(f) }' abc-pipeline-extra-ca.crt \
   && update-ca-certificates > /dev/null; \
    fi
CMD ["java", "-version"]
