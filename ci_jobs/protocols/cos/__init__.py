"""The COS object API on the bucket hosts: objects, bucket listing, multipart, and `?ci-process=`."""
