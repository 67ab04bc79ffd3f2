# abc-pipeline base recipe: a local stand-in for the official image named below, built
# from Debian bookworm's own packages when that image cannot be pulled.
# image: eclipse-temurin:17-jdk
# default: no
# check: java -version && javac -version && test -x "$JAVA_HOME/bin/java"
FROM abc-pipeline/debian:bookworm
# Temurin keeps its JDK at /opt/java/openjdk; link Debian's there so JAVA_HOME matches.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates openjdk-17-jdk-headless \
 && rm -rf /var/lib/apt/lists/* \
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
CMD ["jshell"]
