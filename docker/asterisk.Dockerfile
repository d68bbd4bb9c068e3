# Asterisk for the dialer: a public image plus the English prompts and hold music.
# andrius/asterisk:22 is a widely used image (Asterisk 22 LTS, Debian); any Asterisk
# 20 or newer image works the same way. It is built without sound files, so
# Playback(hello-world) and the queue's hold music would be silent: add them here.
FROM andrius/asterisk:22

ADD https://downloads.asterisk.org/pub/telephony/sounds/asterisk-core-sounds-en-gsm-current.tar.gz /tmp/core-sounds.tar.gz
ADD https://downloads.asterisk.org/pub/telephony/sounds/asterisk-moh-opsound-gsm-current.tar.gz /tmp/moh.tar.gz
RUN mkdir -p /var/lib/asterisk/sounds/en /var/lib/asterisk/moh \
    && tar -xzf /tmp/core-sounds.tar.gz -C /var/lib/asterisk/sounds/en \
    && tar -xzf /tmp/moh.tar.gz -C /var/lib/asterisk/moh \
    && rm /tmp/core-sounds.tar.gz /tmp/moh.tar.gz \
    && chown -R asterisk:asterisk /var/lib/asterisk/sounds /var/lib/asterisk/moh

# Recorded answers of speech IVR scripts (ivr.speech.record_dir): Asterisk writes them,
# the dialer container reads them (and deletes them, speech.keep_recordings) through the
# shared volume dialer-recordings of docker-compose.yml. Group 2000 is shared by both
# images' users; setgid keeps new files in it. A new named volume takes this directory's
# owner and mode.
RUN groupadd --gid 2000 dialer-recordings \
    && usermod -aG dialer-recordings asterisk \
    && install -d -o asterisk -g dialer-recordings -m 2770 /var/spool/asterisk/dialer-recordings
